// Sources that answer the way a broken or hostile service would: an endless answer, an endless
// error page, a drip of one byte a second, redirects to other hosts, in a loop, to plain HTTP.
// Each is refused with one message, in bounded time and memory, and never retried when asking
// again cannot help.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getText } from '../../../lib/source/http.js';
import { MAX_ANSWER_BYTES, redirectTarget } from '../../../lib/source/node-http-fetch.js';

const MB = 1024 * 1024;
const SETTINGS = { timeoutMs: 3000, retries: 2 };

/** Bytes each path sent before the client hung up, and how often it was asked. */
const sent = new Map<string, number>();
const asked = new Map<string, number>();
let server: http.Server;
let base: string;

/** Writes `total` bytes of `fill` as fast as the client takes them, counting what left. */
function endless(res: http.ServerResponse, path: string, status: number, total: number): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let left = total;
  const pump = () => {
    while (left > 0) {
      left -= chunk.length;
      sent.set(path, (sent.get(path) ?? 0) + chunk.length);
      if (!res.write(chunk)) return;
    }
    res.end();
  };
  res.on('drain', pump);
  pump();
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    asked.set(path, (asked.get(path) ?? 0) + 1);
    const port = (server.address() as AddressInfo).port;
    if (path === '/huge') endless(res, path, 200, 500 * MB);
    else if (path === '/huge-error') endless(res, path, 503, 200 * MB);
    else if (path === '/drip') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('2'), 1000);
      res.on('close', () => {
        clearInterval(timer);
      });
    } else if (path === '/elsewhere') {
      res.writeHead(302, { location: `http://localhost:${String(port)}/ok` }).end();
    } else if (path === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else if (path === '/ftp') res.writeHead(301, { location: 'ftp://127.0.0.1/ip' }).end();
    else if (path === '/moved') res.writeHead(308, { location: '/ok' }).end();
    else res.end('2a02:8071:1234:5678::1');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('answers too large', () => {
  it('a 500 MB answer is cut off while it arrives, and not asked for again', async () => {
    await expect(getText('url', `${base}/huge`, SETTINGS)).rejects.toThrow(
      `source url: ${base}/huge: answer larger than ${String(MAX_ANSWER_BYTES)} bytes`,
    );
    await new Promise((r) => setTimeout(r, 200));
    // What left the server before the client hung up: the cap plus socket buffers, not the answer.
    expect(sent.get('/huge') ?? 0).toBeLessThan(16 * MB);
    expect(asked.get('/huge')).toBe(1);
  });

  it('a 200 MB error page is not read: its first bytes make the message', async () => {
    await expect(getText('url', `${base}/huge-error`, { ...SETTINGS, retries: 0 })).rejects.toThrow(
      /answered HTTP 503 "a{20,}/,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(sent.get('/huge-error') ?? 0).toBeLessThan(16 * MB);
  });
});

describe('slow answers', () => {
  it('a drip of one byte a second ends at the source timeout', async () => {
    const started = Date.now();
    await expect(getText('url', `${base}/drip`, { timeoutMs: 1500, retries: 0 })).rejects.toThrow(
      /no answer from .*\/drip within 1500 ms/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('redirects', () => {
  it('one on the same host is followed', async () => {
    expect(await getText('url', `${base}/moved`, SETTINGS)).toBe('2a02:8071:1234:5678::1');
  });

  it.each([
    ['/elsewhere', /refused redirect from 127\.0\.0\.1:\d+ to another host, localhost:\d+/],
    ['/loop', /more than 5 redirects/],
    ['/ftp', /refused redirect from http: to ftp:/],
  ])('%s is refused at once, without retries', async (path, message) => {
    asked.delete(path);
    await expect(getText('url', `${base}${path}`, SETTINGS)).rejects.toThrow(message);
    expect(asked.get(path)).toBe(path === '/loop' ? 6 : 1);
  });

  it('never from https to http, and never to another host; an upgrade to https on the same host is fine', () => {
    expect(() => redirectTarget('https://api6.example/ip', 'http://api6.example/ip', 0)).toThrow(
      'refused redirect from https: to http:',
    );
    expect(() => redirectTarget('https://a.example/ip', 'https://b.example/ip', 0)).toThrow(
      'refused redirect from a.example to another host, b.example',
    );
    expect(redirectTarget('http://a.example/ip', 'https://a.example/ip', 0)).toBe('https://a.example/ip');
    expect(redirectTarget('https://a.example/x', '/ip', 4)).toBe('https://a.example/ip');
    expect(() => redirectTarget('https://a.example/x', '/ip', 5)).toThrow('more than 5 redirects');
    expect(() => redirectTarget('https://a.example/x', null, 0)).toThrow('without a Location');
  });
});
