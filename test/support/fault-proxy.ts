// A TLS proxy in front of the test apiserver that breaks chosen requests the way a bad network or
// a crashing node does: it never answers (stall), cuts the connection before forwarding (reset),
// forwards and cuts the answer halfway (drop), or lets the apiserver commit the request and cuts
// the connection before the answer reaches the client (commit-then-reset). Everything else passes
// through untouched, watches included. It presents the apiserver's own certificate (127.0.0.1).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

export type Fault = 'stall' | 'reset' | 'drop' | 'commit-then-reset';

export interface FaultRule {
  /** e.g. 'GET', 'PATCH'. */
  method: string;
  /** Matched against the path and query. */
  url: RegExp;
  fault: Fault;
  /** Matching requests let through first (the second PATCH of a run: skip 1). */
  skip?: number;
  /** How many matching requests are broken; Infinity for every one. */
  times?: number;
}

export interface FaultProxy {
  /** The URL to put in a kubeconfig instead of the apiserver's. */
  server: string;
  /** Replaces the rules (and their counts), and forgets what was broken so far. */
  inject(rules: FaultRule[]): void;
  /** "METHOD path fault" for every request a rule broke. */
  readonly broken: string[];
  close(): Promise<void>;
}

interface LiveRule extends FaultRule {
  skipped: number;
  used: number;
}

export async function startFaultProxy(target: string, certDir: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const ca = readFileSync(path.join(certDir, 'ca.crt'));
  let rules: LiveRule[] = [];
  const broken: string[] = [];
  const sockets = new Set<Socket>();

  const server = https.createServer(
    {
      cert: readFileSync(path.join(certDir, 'apiserver.crt')),
      key: readFileSync(path.join(certDir, 'apiserver.key')),
    },
    (req, res) => {
      const url = req.url ?? '/';
      const rule = rules.find(
        (r) =>
          r.method === req.method &&
          r.url.test(url) &&
          r.used < (r.times ?? 1) &&
          r.skipped++ >= (r.skip ?? 0),
      );
      if (rule !== undefined) {
        rule.used++;
        broken.push(`${req.method ?? ''} ${url.split('?')[0] ?? ''} ${rule.fault}`);
      }
      if (rule?.fault === 'stall') return; // the socket stays open, and nothing ever comes back
      if (rule?.fault === 'reset') {
        req.socket.destroy();
        return;
      }
      const forward = https.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: url,
          method: req.method,
          headers: req.headers,
          ca,
        },
        (answer) => {
          if (rule?.fault === 'commit-then-reset') {
            answer.resume();
            answer.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (rule?.fault === 'drop') {
            answer.once('data', (chunk: Buffer) => {
              res.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)));
              req.socket.destroy();
              answer.destroy();
            });
            return;
          }
          answer.pipe(res);
        },
      );
      forward.on('error', () => req.socket.destroy());
      // A client gone (a watch it ended, a request it gave up on) ends the upstream request too.
      res.on('close', () => forward.destroy());
      req.pipe(forward);
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server: `https://127.0.0.1:${String(port)}`,
    inject(next) {
      rules = next.map((r) => ({ ...r, skipped: 0, used: 0 }));
      broken.length = 0;
    },
    broken,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
