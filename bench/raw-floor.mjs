// The floor a no-op sync cannot beat: one source request and one GET of the pool, with nothing but
// Node's built-ins (no validation, no client library). Also the floor of a change: plus one PATCH.
// As a script (cold floor): node raw-floor.mjs <echo URL> <pool URL> <CA file> <token> [patch]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export function rawFloor({ echoUrl, poolUrl, caPem, token, patch = false }) {
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true, ca: caPem });
  const request = (lib, url, options, body) =>
    new Promise((resolve, reject) => {
      const req = lib.request(url, options, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(body);
    });
  const auth = { authorization: `Bearer ${token}` };
  let writes = 0;
  // Each PATCH really changes the addresses, as a prefix change does.
  const changedAddresses = () =>
    JSON.stringify({
      spec: {
        addresses: [
          `2a02:8071:${String(1000 + (writes++ % 2))}::1000-2a02:8071:${String(1000 + ((writes - 1) % 2))}::1999`,
        ],
      },
    });
  return async function once() {
    const answer = await request(http, echoUrl, { agent: httpAgent });
    await request(https, poolUrl, { agent: httpsAgent, headers: auth });
    if (patch) {
      await request(
        https,
        poolUrl,
        {
          method: 'PATCH',
          agent: httpsAgent,
          headers: { ...auth, 'content-type': 'application/merge-patch+json' },
        },
        changedAddresses(),
      );
    }
    return answer;
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [echoUrl, poolUrl, caFile, token] = process.argv.slice(2);
  await rawFloor({ echoUrl, poolUrl, caPem: readFileSync(caFile), token })();
  process.exit(0);
}
