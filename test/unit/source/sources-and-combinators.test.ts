import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cloudflareTraceSource } from '../../../lib/source/cloudflare-trace.js';
import { dohSource } from '../../../lib/source/doh.js';
import { parseSource, type SourceSettings } from '../../../lib/source/parse-source.js';
import { cloudflareTrace as trace, json, startHttpStub, type HttpStub } from '../../support/http-stub.js';

const FAST = { timeoutMs: 300, retries: 1 };
const dohAnswer = (status: number, records: [number, string][]) =>
  json({
    Status: status,
    TC: false,
    RD: true,
    RA: true,
    AD: false,
    CD: false,
    Question: [{ name: 'router.home.example', type: 28 }],
    Answer: records.map(([type, data]) => ({ name: 'router.home.example', type, TTL: 60, data })),
  });

describe('cloudflare-trace, doh and the combinators against real servers on 127.0.0.1', () => {
  let stub: HttpStub;
  let settings: SourceSettings;
  beforeAll(async () => {
    stub = await startHttpStub({
      '/cdn-cgi/trace': { body: trace('2a02:8071:1234:5678:aaaa::1') },
      '/v4/cdn-cgi/trace': { body: trace('192.0.2.77') },
      '/html/cdn-cgi/trace': {
        body: '<html>Attention Required!</html>',
        headers: { 'content-type': 'text/html' },
      },
      '/other': { body: '2a02:8071:9999:5678::1' },
      '/same': { body: '2a02:8071:1234:5678::99' },
      '/slow': { delayMs: 3000, body: '2a02:8071:1234:5678::1' },
      '/down': { status: 503 },
      '/dns-query': dohAnswer(0, [
        [5, 'router.dyn.example.'],
        [28, '2a02:8071:1234:5678::1'],
      ]),
    });
    settings = { myIpUrl: `${stub.url}/same`, delegatedLength: 64, ...FAST };
  });
  afterAll(async () => {
    await stub.close();
  });

  const spec = (text: string) => {
    const parsed = parseSource(text.replaceAll('STUB', stub.url), settings);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  };

  it('reads the ip= line of a Cloudflare trace, and refuses what is not one', async () => {
    expect((await cloudflareTraceSource(`${stub.url}/cdn-cgi/trace`, FAST).detect({})).raw).toBe(
      '2a02:8071:1234:5678:aaaa::1',
    );
    await expect(cloudflareTraceSource(`${stub.url}/v4/cdn-cgi/trace`, FAST).detect({})).rejects.toThrow(
      /"192\.0\.2\.77" is an IPv4 address/,
    );
    await expect(cloudflareTraceSource(`${stub.url}/html/cdn-cgi/trace`, FAST).detect({})).rejects.toThrow(
      /no "ip=" line/,
    );
  });

  it('reads AAAA records through a DNS-over-HTTPS JSON endpoint, skipping the CNAME', async () => {
    const answer = await dohSource('router.home.example', `${stub.url}/dns-query`, FAST, 64).detect({});
    expect([answer.source, answer.raw]).toEqual(['doh:router.home.example', '2a02:8071:1234:5678::1']);
  });

  it.each([
    [3, [], /router\.home\.example: NXDOMAIN/],
    [2, [], /router\.home\.example: SERVFAIL/],
    [0, [[5, 'x.example.']], /has no AAAA record/],
    [
      0,
      [
        [28, '2a02:8071:1234:5678::1'],
        [28, '2a02:8071:4321:5678::1'],
      ],
      /addresses disagree/,
    ],
  ] as [number, [number, string][], RegExp][])(
    'refuses a DoH answer with status %s',
    async (status, records, message) => {
      const failing = await startHttpStub({ '/dns-query': dohAnswer(status, records) });
      try {
        await expect(
          dohSource('router.home.example', `${failing.url}/dns-query`, FAST, 64).detect({}),
        ).rejects.toThrow(message);
      } finally {
        await failing.close();
      }
    },
  );

  it('first(): falls back in order and says who answered what', async () => {
    const answer = await spec(
      'first(url:STUB/down, url:STUB/v4/cdn-cgi/trace, url:STUB/same, url:STUB/other)',
    ).detect({});
    expect(answer.raw).toBe('2a02:8071:1234:5678::99');
    expect(answer.evidence).toEqual([
      { source: `url:${stub.url}/down`, error: expect.stringMatching(/HTTP 503/) },
      { source: `url:${stub.url}/v4/cdn-cgi/trace`, error: expect.stringMatching(/not an IPv6 address/) },
      { source: `url:${stub.url}/same`, answer: '2a02:8071:1234:5678::99' },
    ]);
    await expect(spec('first(url:STUB/down, url:STUB/v4/cdn-cgi/trace)').detect({})).rejects.toThrow(
      /no source answered: .*HTTP 503.*not an IPv6 address/,
    );
  });

  it('quorum(): needs k sources agreeing on the delegated prefix', async () => {
    const agreed = await spec(
      'quorum(2; url:STUB/other, cloudflare-trace:STUB/cdn-cgi/trace, url:STUB/same)',
    ).detect({});
    expect(agreed.raw).toBe('2a02:8071:1234:5678:aaaa::1');
    expect(agreed.evidence?.map((e) => e.answer)).toEqual([
      '2a02:8071:9999:5678::1',
      '2a02:8071:1234:5678:aaaa::1',
      '2a02:8071:1234:5678::99',
    ]);
    await expect(spec('quorum(2; url:STUB/other, url:STUB/same, url:STUB/down)').detect({})).rejects.toThrow(
      /only 1 of 3 agree, 2 needed: url:.*\/other said 2a02:8071:9999:5678::1; url:.*\/same said 2a02:8071:1234:5678::99; url:.*\/down failed: .*HTTP 503/,
    );
  });

  it('within(): refuses an answer outside the expected allocation', async () => {
    expect((await spec('within(2a02:8070::/29; url:STUB/same)').detect({})).raw).toBe(
      '2a02:8071:1234:5678::99',
    );
    await expect(spec('within(2a02:8070::/32; url:STUB/other)').detect({})).rejects.toThrow(
      /answered 2a02:8071:9999:5678::1, outside the expected 2a02:8070::\/32/,
    );
  });

  it.each([
    ['first(url:STUB/same)', /needs at least two sources/],
    ['quorum(3; url:STUB/same, url:STUB/other)', /k must be from 1 to 2/],
    ['quorum(url:STUB/same)', /expected quorum\(<k>; <sources>\)/],
    ['within(10.0.0.0/8; url:STUB/same)', /"10\.0\.0\.0\/8" is not an IPv6 CIDR/],
    ['first(url:STUB/same, telepathy)', /unknown kind "telepathy"/],
    ['cloudflare-trace:gopher://x', /expected cloudflare-trace/],
    ['doh:@https://dns.example/dns-query', /expected doh:<host name>/],
  ])('refuses the spec %s', (text, message) => {
    const parsed = parseSource(text.replaceAll('STUB', stub.url), settings);
    expect(parsed.ok ? 'accepted' : parsed.error).toMatch(message);
  });
});
