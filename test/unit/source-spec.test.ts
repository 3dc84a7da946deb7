// The source spec language, kind by kind and nested, and what the combinators do with what their
// sources say. HTTP sources are run with an already aborted signal: they fail before any packet is
// sent, and their message names the URL they would have asked.
import { describe, expect, it } from '@jest/globals';
import { parseAnswer } from '../../lib/source/answer.js';
import { firstSource, quorumSource, withinSource, parseCidr } from '../../lib/source/combinators.js';
import { parseSource, type SourceSettings } from '../../lib/source/parse-source.js';
import { SourceError, type PrefixSource } from '../../lib/source/source.js';
import { staticSource } from '../../lib/source/static.js';
import { sourceFailure } from '../support/source-error.js';

const SETTINGS: SourceSettings = {
  myIpUrl: 'https://api6.my-ip.io/ip.json',
  timeoutMs: 1000,
  retries: 0,
  delegatedLength: 56,
};

function source(spec: string, settings = SETTINGS): PrefixSource {
  const parsed = parseSource(spec, settings);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}
function specError(spec: string): string {
  const parsed = parseSource(spec, SETTINGS);
  if (parsed.ok) throw new Error(`"${spec}" was accepted`);
  return parsed.error;
}
const reason = async (detection: Promise<unknown>) => (await sourceFailure(detection)).reason;
/** Where an HTTP source would send its request, read from its failure on an aborted signal. */
async function requestedUrl(s: PrefixSource): Promise<string> {
  const why = await reason(s.detect({ signal: AbortSignal.abort() }));
  const url = /^request to (\S+) failed/.exec(why)?.[1];
  if (url === undefined) throw new Error(`unexpected failure: ${why}`);
  return url;
}

const fixed = (text: string, name = `static:${text}`): PrefixSource =>
  staticSource({ ...parseAnswer(name, text) });
const failing = (name: string, why: string): PrefixSource => ({
  name,
  detect: () => Promise.reject(new SourceError(name, why)),
});

describe('the spec of each kind', () => {
  it.each([
    ['my-ip', 'my-ip', 'https://api6.my-ip.io/ip.json'],
    ['url:http://127.0.0.1:9/ip', 'url:http://127.0.0.1:9/ip', 'http://127.0.0.1:9/ip'],
    ['url:https://[::1]:8443/x#a.b', 'url:https://[::1]:8443/x', 'https://[::1]:8443/x'],
    ['cloudflare-trace', 'cloudflare-trace', 'https://[2606:4700:4700::1111]/cdn-cgi/trace'],
    ['cloudflare-trace:http://127.0.0.1:9/t', 'cloudflare-trace', 'http://127.0.0.1:9/t'],
    [
      'doh:router.example.net',
      'doh:router.example.net',
      'https://cloudflare-dns.com/dns-query?name=router.example.net&type=AAAA',
    ],
    ['doh:r.example@http://127.0.0.1:9/q', 'doh:r.example', 'http://127.0.0.1:9/q?name=r.example&type=AAAA'],
  ])('%s asks %s at %s', async (spec, name, url) => {
    const s = source(spec);
    expect(s.name).toBe(name);
    expect(await requestedUrl(s)).toBe(url);
  });

  it('my-ip asks the configured URL', async () => {
    expect(await requestedUrl(source('my-ip', { ...SETTINGS, myIpUrl: 'http://127.0.0.1:9/my' }))).toBe(
      'http://127.0.0.1:9/my',
    );
  });

  it.each([
    ['static:2a02:8071:1234::/48', 'static'],
    [' static:2a02:8071:1234::9 ', 'static'],
    ['dns:router.example.net', 'dns:router.example.net'],
    ['dns:r', 'dns:r'],
    ['dns:a.b', 'dns:a.b'],
    ['dns:a-1.b-2', 'dns:a-1.b-2'],
    ['dns:router.example.net.', 'dns:router.example.net.'],
    ['dns:router@127.0.0.1:5353', 'dns:router@127.0.0.1:5353'],
    ['dns:router@[::1]:53', 'dns:router@[::1]:53'],
    ['dns:router@[::1]', 'dns:router@::1'],
    ['dns:router@::1', 'dns:router@::1'],
    ['interface', 'interface'],
    ['interface:eth0', 'interface:eth0'],
    ['kubernetes-nodes', 'kubernetes-nodes'],
    ['kubernetes-nodes:', 'kubernetes-nodes'],
    [
      'kubernetes-nodes:node-role.kubernetes.io/edge=true',
      'kubernetes-nodes:node-role.kubernetes.io/edge=true',
    ],
  ])('%j is a source named %s', (spec, name) => {
    expect(source(spec).name).toBe(name);
  });

  it('dns passes the request timeout and retries on to the resolver', async () => {
    // Nothing answers on 127.0.0.1:9; with the resolver's own defaults this would take 20 s.
    const started = Date.now();
    const s = source('dns:router.example@127.0.0.1:9', { ...SETTINGS, timeoutMs: 50, retries: 0 });
    expect(await reason(s.detect({}))).toMatch(/router\.example/);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 8000);

  it('static answers its value without asking anyone', async () => {
    await expect(source('static:2a02:8071:1234::/48').detect({})).resolves.toMatchObject({
      source: 'static',
      raw: '2a02:8071:1234::/48',
      prefixLength: 48,
    });
  });

  it.each([
    ['my-ip:x', 'source "my-ip:x": my-ip takes no argument (set --my-ip-url)'],
    ['url', 'source "url": expected url:<http(s) URL>[#json.field]'],
    ['url:', 'source "url:": expected url:<http(s) URL>[#json.field]'],
    ['url:ftp://example.net/ip', 'expected url:<http(s) URL>[#json.field]'],
    ['url:example.net/ip', 'expected url:<http(s) URL>[#json.field]'],
    ['static:', 'source static: empty answer'],
    ['static', 'source static: empty answer'],
    [
      'static:fd00::/48',
      'source static: answer "fd00::/48" is not a global unicast address: unique local (ULA, fc00::/7)',
    ],
    ['static:2a02:8071::/0', 'source static: answer "2a02:8071::/0" has an invalid prefix length'],
    ['cloudflare-trace:', 'source "cloudflare-trace:": expected cloudflare-trace[:<http(s) URL>]'],
    ['cloudflare-trace:file:///etc/passwd', 'expected cloudflare-trace[:<http(s) URL>]'],
    ['dns:', 'source "dns:": expected dns:<host name>[@<server IP>[:port]]'],
    ['dns', 'expected dns:<host name>[@<server IP>[:port]]'],
    ['dns:-router', 'expected dns:<host name>'],
    ['dns:rou ter', 'expected dns:<host name>'],
    ['dns:router@dns.example', 'source "dns:router@dns.example": "dns.example" is not a DNS server address'],
    ['dns:router@', '"" is not a DNS server address'],
    ['doh:', 'source "doh:": expected doh:<host name>[@<https endpoint URL>]'],
    ['doh', 'expected doh:<host name>[@<https endpoint URL>]'],
    ['doh:router@', 'expected doh:<host name>[@<https endpoint URL>]'],
    ['doh:router@ftp://x', 'expected doh:<host name>[@<https endpoint URL>]'],
    ['interface:', 'source "interface:": expected interface or interface:<name>'],
    ['', 'source "": unknown kind ""'],
    [
      'carrier-pigeon',
      'unknown kind "carrier-pigeon" (my-ip, url:<URL>, static:<prefix>, cloudflare-trace, dns:<name>, doh:<name>, interface, kubernetes-nodes, first(...), quorum(k; ...), within(CIDR; ...))',
    ],
    ['MY-IP', 'unknown kind "MY-IP"'],
  ])('%j is refused: %s', (spec, message) => {
    expect(specError(spec)).toContain(message);
  });
});

describe('combinators in the spec', () => {
  const A = 'static:2a02:8071:1234:5601::1';
  const B = 'static:2a02:8071:1234:5602::1';
  const C = 'static:2a02:8071:9999::1';

  it.each([
    [`first(${A}, ${B})`, 'first(static, static)'],
    [`first ( ${A} ,${B} )`, 'first(static, static)'],
    [`quorum(2; ${A}, ${B}, ${C})`, 'quorum(2; static, static, static)'],
    [`quorum(1; ${A})`, 'quorum(1; static)'],
    [`within(2a02:8071::/32; ${A})`, 'within(2a02:8071::/32; static)'],
    [`within( 2a02:8071::/32 ; ${A} )`, 'within(2a02:8071::/32; static)'],
    [`quorum( 2 ; ${A}, ${B})`, 'quorum(2; static, static)'],
    [
      `quorum(10; ${Array<string>(10).fill(A).join(', ')})`,
      `quorum(10; ${Array<string>(10).fill('static').join(', ')})`,
    ],
    [
      `first(quorum(2; ${A}, within(2a02::/16; ${B})), dns:router, within(2a02::/16; first(my-ip, ${C})))`,
      'first(quorum(2; static, within(2a02::/16; static)), dns:router, within(2a02::/16; first(my-ip, static)))',
    ],
  ])('%s', (spec, name) => {
    expect(source(spec).name).toBe(name);
  });

  it('nests: the answer comes through every level', async () => {
    const s = source(`within(2a02:8071::/32; first(quorum(2; ${A}, ${B}), ${C}))`);
    await expect(s.detect({})).resolves.toMatchObject({ raw: '2a02:8071:1234:5601::1' });
  });

  it.each([
    [`first(${A})`, `source "first(${A})": needs at least two sources`],
    ['first()', 'source "": unknown kind ""'],
    [`first(${A}, nope)`, 'source "nope": unknown kind "nope"'],
    [`quorum(0; ${A}, ${B})`, `source "quorum(0; ${A}, ${B})": k must be from 1 to 2, got "0"`],
    [`quorum(3; ${A}, ${B})`, 'k must be from 1 to 2, got "3"'],
    [`quorum(x; ${A}, ${B})`, 'k must be from 1 to 2, got "x"'],
    [`quorum(-1; ${A}, ${B})`, 'k must be from 1 to 2, got "-1"'],
    [`quorum(${A}, ${B})`, 'expected quorum(<k>; <sources>)'],
    [`quorum(1; ${A}; ${B})`, 'expected quorum(<k>; <sources>)'],
    [`quorum(1; ${A}, url:)`, 'source "url:": expected url:'],
    [`within(${A})`, 'expected within(<CIDR>; <sources>)'],
    [`within(2a02::; ${A})`, '"2a02::" is not an IPv6 CIDR'],
    [`within(10.0.0.0/8; ${A})`, '"10.0.0.0/8" is not an IPv6 CIDR'],
    ['within(2a02::/16; static:fd00::1)', 'source static: answer "fd00::1" is not a global unicast address'],
    [`first(${A}, ${B}`, 'unknown kind "first(static"'],
    [`quorum(1x; ${A}, ${B})`, 'k must be from 1 to 2, got "1x"'],
    [`quorum(x1; ${A}, ${B})`, 'k must be from 1 to 2, got "x1"'],
    [`quorum(+1; ${A}, ${B})`, 'k must be from 1 to 2, got "+1"'],
    [`quorum(1e0; ${A}, ${B})`, 'k must be from 1 to 2, got "1e0"'],
    [`xfirst(${A}, ${B})`, 'unknown kind "xfirst(static"'],
    [`first(${A}, ${B})x`, 'unknown kind "first(static"'],
  ])('%s is refused: %s', (spec, message) => {
    expect(specError(spec)).toContain(message);
  });

  it('reads CIDRs strictly', () => {
    expect(parseCidr(' 2a02:8070::/29 ')?.map(String)).toEqual(['2a02:8070::', '29']);
    expect(parseCidr('2a02:8070::')).toBeUndefined();
    expect(parseCidr('192.0.2.0/24')).toBeUndefined();
  });
});

describe('first()', () => {
  it('takes the first valid answer and does not ask the rest', async () => {
    let asked = 0;
    const counting: PrefixSource = {
      name: 'counting',
      detect: () => {
        asked++;
        return Promise.reject(new Error('should not be asked'));
      },
    };
    const answer = await firstSource([
      failing('a', 'timed out'),
      fixed('2a02:8071:1234:5601::1', 'b'),
      counting,
    ]).detect({});
    expect(answer.raw).toBe('2a02:8071:1234:5601::1');
    expect(asked).toBe(0);
    expect(answer.evidence).toEqual([
      { source: 'a', error: 'timed out' },
      { source: 'b', answer: '2a02:8071:1234:5601::1' },
    ]);
  });

  it('keeps the evidence of a nested combinator', async () => {
    const inner = quorumSource(1, [fixed('2a02:8071:1234:5601::1', 'x')], 56);
    const answer = await firstSource([failing('a', 'down'), inner]).detect({});
    expect(answer.evidence).toEqual([
      { source: 'a', error: 'down' },
      { source: 'x', answer: '2a02:8071:1234:5601::1' },
    ]);
  });

  it('says what each source said when none answered', async () => {
    const plain: PrefixSource = { name: 'c', detect: () => Promise.reject(new Error('socket hang up')) };
    const odd: PrefixSource = { name: 'd', detect: () => Promise.reject(new Error('x', { cause: 1 })) };
    const why = await reason(
      firstSource([failing('a', 'NXDOMAIN'), failing('b', 'HTTP 500'), plain, odd]).detect({}),
    );
    expect(why).toBe('no source answered: a: NXDOMAIN; b: HTTP 500; c: socket hang up; d: x');
  });

  it('stops at once when the detection deadline has passed', async () => {
    const deadline = new AbortController();
    let asked = 0;
    const s = firstSource([
      {
        name: 'a',
        detect: () => {
          deadline.abort();
          return Promise.reject(new Error('aborted'));
        },
      },
      { name: 'b', detect: () => Promise.resolve(parseAnswer('b', `2a02::${String(++asked)}`)) },
    ]);
    await expect(s.detect({ signal: deadline.signal })).rejects.toThrow('aborted');
    expect(asked).toBe(0);
  });
});

describe('quorum()', () => {
  it('needs k answers in one delegated prefix and lists what every source said', async () => {
    const s = quorumSource(
      2,
      [
        fixed('2a02:8071:1234:5601::1', 'a'),
        failing('b', 'down'),
        fixed('2a02:8071:1234:56ff::2', 'c'),
        fixed('2a02:8071:9999:0::1', 'd'),
      ],
      56,
    );
    const answer = await s.detect({});
    expect(answer.source).toBe('a');
    expect(answer.evidence).toEqual([
      { source: 'a', answer: '2a02:8071:1234:5601::1' },
      { source: 'b', error: 'down' },
      { source: 'c', answer: '2a02:8071:1234:56ff::2' },
      { source: 'd', answer: '2a02:8071:9999:0::1' },
    ]);
  });

  it('fails below k, saying how many agreed', async () => {
    const s = quorumSource(
      2,
      [fixed('2a02:8071:1234:5601::1', 'a'), fixed('2a02:8071:1234:5701::1', 'b'), failing('c', 'down')],
      56,
    );
    expect(await reason(s.detect({}))).toBe(
      'only 1 of 3 agree, 2 needed: a said 2a02:8071:1234:5601::1; b said 2a02:8071:1234:5701::1; c failed: down',
    );
    expect(await reason(quorumSource(1, [failing('a', 'down')], 56).detect({}))).toBe(
      'only 0 of 1 agree, 1 needed: a failed: down',
    );
  });

  it('breaks a tie by the order the sources are listed in', async () => {
    const a = fixed('2a02:8071:1234:5601::1', 'a');
    const b = fixed('2a02:8071:1234:5701::1', 'b');
    expect((await quorumSource(1, [a, b], 56).detect({})).source).toBe('a');
    expect((await quorumSource(1, [b, a], 56).detect({})).source).toBe('b');
  });

  it('prefers the larger group wherever it is listed', async () => {
    const s = quorumSource(
      1,
      [
        fixed('2a02:8071:1234:5701::1', 'lone'),
        fixed('2a02:8071:1234:5601::1', 'x'),
        fixed('2a02:8071:1234:5602::1', 'y'),
      ],
      56,
    );
    expect((await s.detect({})).source).toBe('x');
  });

  it("compares at the answer's own prefix length when it is shorter than the delegated one", async () => {
    const s = quorumSource(2, [fixed('2a02:8071:1234::/48', 'a'), fixed('2a02:8071:1234:5601::1', 'b')], 56);
    await expect(s.detect({})).rejects.toThrow('only 1 of 2 agree');
    const t = quorumSource(
      2,
      [fixed('2a02:8071:1234:5600::/56', 'a'), fixed('2a02:8071:1234:5601::1', 'b')],
      56,
    );
    expect((await t.detect({})).source).toBe('a');
  });
});

describe('within()', () => {
  it('passes an answer inside the range and refuses one outside, naming both', async () => {
    const range = parseCidr('2a02:8070::/29');
    if (range === undefined) throw new Error('bad CIDR');
    expect((await withinSource(range, fixed('2a02:8077:1::1', 'a')).detect({})).raw).toBe('2a02:8077:1::1');
    const outside = withinSource(range, fixed('2a02:8078::1', 'a'));
    expect(outside.name).toBe('within(2a02:8070::/29; a)');
    expect(await reason(outside.detect({}))).toBe(
      'a answered 2a02:8078::1, outside the expected 2a02:8070::/29',
    );
  });
});
