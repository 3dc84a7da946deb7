import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { myIpSource } from '../../../lib/source/my-ip.js';
import { parseSource } from '../../../lib/source/parse-source.js';
import { urlSource } from '../../../lib/source/url.js';
import { freePort } from '../../../devcluster/ports.js';
import { json, startHttpStub, type HttpStub } from '../../support/http-stub.js';

const FAST = { timeoutMs: 300, retries: 2 };

describe('HTTP sources against a real server on 127.0.0.1', () => {
  let stub: HttpStub;

  beforeAll(async () => {
    stub = await startHttpStub({
      '/ok.json': json({ success: true, ip: '2a02:8071:1234:5678:9abc:def0:1234:5678', type: 'IPv6' }),
      '/html': {
        body: '<!DOCTYPE html><html><body>Rate limited</body></html>',
        headers: { 'content-type': 'text/html' },
      },
      '/ipv4.json': json({ success: true, ip: '192.0.2.44', type: 'IPv4' }),
      '/ula.json': json({ success: true, ip: 'fd00:1234::44', type: 'IPv6' }),
      '/failure.json': json({ success: false, error: 'quota' }),
      '/empty': { body: '' },
      '/truncated': {
        body: '{"success":true,"ip":"2a02:80',
        headers: { 'content-type': 'application/json' },
      },
      '/flaky.json': [
        { status: 503 },
        { status: 500 },
        json({ success: true, ip: '2a02:8071:1234:5678::1', type: 'IPv6' }),
      ],
      '/down': { status: 500, body: 'internal error' },
      '/slow': { delayMs: 2000, body: '2a02:8071:1234:5678::1' },
      '/plain': { body: '2a02:8071:1234:5678::77\n' },
      '/prefix': { body: '2a02:8071:1234::/48' },
      '/nested.json': json({ data: { ipv6: '2a02:8071:1234:5678::88' } }),
      '/garbage': { body: '\u0000\u0001binary' },
    });
  });
  afterAll(async () => {
    await stub.close();
  });

  const myIp = (path: string) => myIpSource(`${stub.url}${path}`, FAST).detect({});
  const url = (spec: string) => urlSource(`${stub.url}${spec}`, FAST).detect({});

  it('reads the my-ip answer', async () => {
    const answer = await myIp('/ok.json');
    expect(answer.address.toString()).toBe('2a02:8071:1234:5678:9abc:def0:1234:5678');
    expect(answer.source).toBe('my-ip');
  });

  it.each([
    ['/html', /source my-ip: answer is not JSON: "<!DOCTYPE html>/],
    ['/ipv4.json', /saw an IPv4 client \(192\.0\.2\.44\)/],
    ['/ula.json', /"fd00:1234::44" is not a global unicast address: unique local/],
    ['/failure.json', /service reported failure/],
    ['/empty', /answer is not JSON/],
    ['/truncated', /answer is not JSON: "\{\\"success\\":true,\\"ip\\":\\"2a02:80"/],
    ['/down', /answered HTTP 500 "internal error"/],
    ['/slow', /no answer from .*\/slow within 300 ms/],
  ])('refuses the my-ip answer at %s with a clear message', async (path, message) => {
    await expect(myIp(path)).rejects.toThrow(message);
  });

  it('retries 5xx a bounded number of times with backoff', async () => {
    const answer = await myIp('/flaky.json');
    expect(answer.address.toString()).toBe('2a02:8071:1234:5678::1');
    expect(stub.hits.get('/flaky.json')).toBe(3);
    const before = stub.hits.get('/down') ?? 0;
    await expect(myIp('/down')).rejects.toThrow(/HTTP 500/);
    expect((stub.hits.get('/down') ?? 0) - before).toBe(FAST.retries + 1);
  });

  it('says so when nothing listens', async () => {
    const port = await freePort();
    await expect(
      myIpSource(`http://127.0.0.1:${String(port)}/ip.json`, { timeoutMs: 300, retries: 0 }).detect({}),
    ).rejects.toThrow(
      /source my-ip: request to http:\/\/127\.0\.0\.1:\d+\/ip\.json failed \(fetch failed: connect ECONNREFUSED/,
    );
  });

  it('reads plain-text and JSON-field answers from url: sources, prefixes included', async () => {
    expect((await url('/plain')).raw).toBe('2a02:8071:1234:5678::77');
    const prefix = await url('/prefix');
    expect([prefix.address.toString(), prefix.prefixLength]).toEqual(['2a02:8071:1234::', 48]);
    expect((await url('/nested.json#data.ipv6')).raw).toBe('2a02:8071:1234:5678::88');
  });

  it.each([
    ['/html', /answer "<!DOCTYPE html>.*" is not an IPv6 address/],
    ['/empty', /empty answer/],
    ['/garbage', /is not an IPv6 address/],
    ['/nested.json#data.ip', /JSON answer has no string at "data.ip"/],
    ['/plain#ip', /answer is not JSON/],
  ])('refuses the url: answer at %s', async (spec, message) => {
    await expect(url(spec)).rejects.toThrow(message);
  });

  it('builds sources from specs without touching the network', () => {
    const settings = { myIpUrl: `${stub.url}/ok.json`, delegatedLength: 64, ...FAST };
    const before = [...stub.hits.values()].reduce((a, b) => a + b, 0);
    expect(parseSource('my-ip', settings).ok).toBe(true);
    expect(parseSource(`url:${stub.url}/plain`, settings).ok).toBe(true);
    expect(parseSource('url:ftp://example.org/ip', settings)).toEqual({
      ok: false,
      error: expect.stringMatching(/expected url:<http\(s\) URL>/),
    });
    expect(parseSource('static:2a02:8071:1234::/48', settings).ok).toBe(true);
    expect(parseSource('static:192.0.2.1', settings)).toEqual({
      ok: false,
      error: expect.stringMatching(/is an IPv4 address/),
    });
    expect([...stub.hits.values()].reduce((a, b) => a + b, 0)).toBe(before);
  });
});
