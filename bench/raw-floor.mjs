// The floor a no-op sync cannot beat: one source request and one GET of the pool, with nothing but
// Node's built-ins (no validation, no client library). Also the floor of a change: plus one PATCH
// that sets the pool to the range of the prefix the source answered, as a prefix change does.
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
  const rangeOf = (answer) => {
    const prefix = answer.trim().split('::')[0];
    return JSON.stringify({ spec: { addresses: [`${prefix}::1000-${prefix}::1999`] } });
  };
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
        rangeOf(answer),
      );
    }
    return answer;
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [echoUrl, poolUrl, caFile, token, patch] = process.argv.slice(2);
  await rawFloor({ echoUrl, poolUrl, caPem: readFileSync(caFile), token, patch: patch === 'patch' })();
  process.exit(0);
}
