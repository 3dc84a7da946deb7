import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubResponse {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
}

export interface HttpStub {
  url: string;
  /** Requests received per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for a service on the internet we cannot reach from
 * here. `routes` maps a path to its answers: a list is served in order, its last entry repeating.
 */
export async function startHttpStub(
  routes: Record<string, StubResponse | StubResponse[]>,
): Promise<HttpStub> {
  const hits = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const n = hits.get(path) ?? 0;
    hits.set(path, n + 1);
    const route = routes[path];
    const answers =
      route === undefined ? [{ status: 404, body: 'not found' }] : Array.isArray(route) ? route : [route];
    const answer = answers[Math.min(n, answers.length - 1)] ?? { status: 500 };
    const send = () => {
      res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    };
    if (answer.delayMs === undefined) send();
    else {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, answer.delayMs);
      timers.add(timer);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    hits,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

export const json = (value: unknown): StubResponse => ({
  body: JSON.stringify(value),
  headers: { 'content-type': 'application/json' },
});

/** A body as Cloudflare's /cdn-cgi/trace answers it, for a client at `ip`. */
export const cloudflareTrace = (ip: string) =>
  [
    'fl=29f123',
    'h=[2606:4700:4700::1111]',
    `ip=${ip}`,
    'ts=1795698000.123',
    'visit_scheme=https',
    'uag=metallb-dyn6',
    'colo=FRA',
    'sliver=none',
    'http=http/1.1',
    'loc=DE',
    'tls=TLSv1.3',
    'sni=off',
    'warp=off',
    'gateway=off',
    'rbi=off',
    'kex=X25519',
    '',
  ].join('\n');
