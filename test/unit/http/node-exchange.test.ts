// The exchange both HTTP clients run on, against real servers on 127.0.0.1: what it sends, what it
// reads and how much of it, and each way a request can fail.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { abortAfter } from '../../../lib/cluster/abort-after.js';
import { AnswerTooLarge, exchange } from '../../../lib/http/node-exchange.js';
import { freePort } from '../../../devcluster/ports.js';

let server: http.Server;
let base: string;
/** Whether the server saw each path's connection closed before it finished writing. */
const cutShort = new Map<string, boolean>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/echo') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(201, 'Made', {
          'content-type': 'application/json',
          'x-seen': req.headers['x-test'] ?? '',
        });
        res.end(JSON.stringify({ method: req.method, body }));
      });
    } else if (path === '/big') {
      // 10 MB in 64 KB writes, as fast as the client takes them.
      const chunk = Buffer.alloc(64 * 1024, 'b');
      let left = 160;
      res.writeHead(200, { 'content-type': 'text/plain' });
      const pump = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return;
        }
        res.end();
      };
      res.on('drain', pump);
      res.on('close', () => cutShort.set(path, left > 0));
      pump();
    } else if (path === '/half') {
      // Promises 100 bytes, sends 10, and hangs up.
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789');
      setTimeout(() => {
        res.destroy();
      }, 20);
    } else if (path === '/slow') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part');
      const timer = setTimeout(() => res.end('late'), 5000);
      res.on('close', () => {
        clearTimeout(timer);
      });
    } else res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const GET = { method: 'GET', headers: {}, agent: false } as const;

describe('an exchange over node:http', () => {
  it('sends the method, headers and body, and reads the whole answer', async () => {
    const answer = await exchange(`${base}/echo`, {
      method: 'PATCH',
      headers: { 'x-test': 'yes', 'content-type': 'application/json' },
      body: '{"spec":{}}',
      agent: false,
    });
    expect(answer.status).toBe(201);
    expect(answer.statusText).toBe('Made');
    expect(answer.headers['x-seen']).toBe('yes');
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(JSON.parse(answer.body.toString())).toEqual({ method: 'PATCH', body: '{"spec":{}}' });
  });

  it('reads an answer of any size when no limit is given', async () => {
    const answer = await exchange(`${base}/big`, GET);
    expect(answer.body.length).toBe(160 * 64 * 1024);
  });

  it('refuses an answer over its limit while it arrives, and hangs up', async () => {
    const failure = await exchange(`${base}/big`, GET, () => ({ bytes: 1000, over: 'fail' })).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AnswerTooLarge);
    expect(failure).toMatchObject({ message: 'answer larger than 1000 bytes' });
    await new Promise((r) => setTimeout(r, 100));
    expect(cutShort.get('/big')).toBe(true);
  });

  it('keeps the first bytes of an answer when told to cut it', async () => {
    const answer = await exchange(`${base}/big`, GET, () => ({ bytes: 200, over: 'cut' }));
    expect(answer.body.toString()).toBe('b'.repeat(200));
  });

  it('fails when the connection closes before the whole answer arrived', async () => {
    await expect(exchange(`${base}/half`, GET)).rejects.toThrow();
  });

  it('rejects with the abort reason, before the answer and while it arrives', async () => {
    for (const after of [0, 100]) {
      const reason = new Error(`deadline after ${String(after)} ms`);
      const { signal } = abortAfter(after, reason);
      await expect(exchange(`${base}/slow`, { ...GET, signal })).rejects.toBe(reason);
    }
  });

  it("fails with Node's own network error, naming the address", async () => {
    const port = await freePort();
    await expect(exchange(`http://127.0.0.1:${String(port)}/`, GET)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: `connect ECONNREFUSED 127.0.0.1:${String(port)}`,
    });
  });
});
