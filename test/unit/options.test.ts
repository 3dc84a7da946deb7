// Every option, from its flag and from its environment variable to its effect on the configuration,
// one row each; and every bad value to the one line that names it. Effects that only show when a
// source runs (timeouts, retries, the my-ip URL) are checked against an HTTP server on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig, readOptions, type Config } from '../../lib/config/config.js';
import { parseBoolean, parseSeconds } from '../../lib/config/parsers.js';
import { OPTION_SPECS, settingsFrom, type OptionName } from '../../lib/config/options.js';
import { json, startHttpStub, type HttpStub } from '../support/http-stub.js';
import { sourceFailure } from '../support/source-error.js';

const REQUIRED = { 'host-range': '::1000-::1999', pool: 'ipv6-pool' };

/** The configuration from flags alone, or from the environment alone, with the required two added. */
function fromFlags(flags: Record<string, string | boolean>) {
  return loadConfig(settingsFrom({}, { ...REQUIRED, ...flags }));
}
function fromEnv(env: Record<string, string>) {
  const required = {
    METALLB_DYN6_HOST_RANGE: REQUIRED['host-range'],
    METALLB_DYN6_METALLB_POOL: REQUIRED.pool,
  };
  return loadConfig(settingsFrom({ ...required, ...env }, {}));
}
function both(name: OptionName, value: string): Config[] {
  const spec = OPTION_SPECS[name];
  const results = [fromFlags({ [spec.flag]: value }), ...spec.env.map((e) => fromEnv({ [e]: value }))];
  return results.map((r) => {
    if (!r.ok) throw new Error(`--${spec.flag} ${value}: ${r.error.join('; ')}`);
    return r.value;
  });
}
function errorsOf(name: OptionName, value: string): string[][] {
  const spec = OPTION_SPECS[name];
  const results = [fromFlags({ [spec.flag]: value }), ...spec.env.map((e) => fromEnv({ [e]: value }))];
  return results.map((r) => (r.ok ? [] : r.error));
}

describe('every option reaches its effect, from the flag and from the environment', () => {
  const rows: [OptionName, string, (c: Config) => unknown, unknown][] = [
    [
      'source',
      'static:2a02:8071:1234::/48',
      (c) => [c.sourceSpec, c.source.name],
      ['static:2a02:8071:1234::/48', 'static'],
    ],
    ['source', ' my-ip ', (c) => c.source.name, 'my-ip'],
    ['hostRange', '::1000/116', (c) => c.hosts.map((h) => [h.kind, h.text]), [['cidr', '::1000/116']]],
    ['hostRange', ' ::1-::2 , ::10-::20 ', (c) => c.hosts.map((h) => h.text), ['::1-::2', '::10-::20']],
    ['hostRange', '::/64', (c) => c.hosts.map((h) => [h.kind, h.text]), [['cidr', '::/64']]],
    ['hostRange', '::1000/128', (c) => c.hosts.map((h) => [h.kind, h.text]), [['cidr', '::1000/128']]],
    ['hostRange', '::5-::5', (c) => c.hosts.map((h) => h.text), ['::5-::5']],
    ['hostRange', '::1 - ::2', (c) => c.hosts.map((h) => h.text), ['::1 - ::2']],
    ['hostRange', '::1-::3,::4-::6', (c) => c.hosts.length, 2],
    ['hostRange', '::10-::20,::1-::5,::30/124', (c) => c.hosts.length, 3],
    ['pool', 'ipv6.pool-1', (c) => c.pool, { namespace: 'metallb-system', name: 'ipv6.pool-1' }],
    ['pool', ` ${'a'.repeat(253)} `, (c) => c.pool.name.length, 253],
    ['namespace', 'lb', (c) => c.pool, { namespace: 'lb', name: 'ipv6-pool' }],
    ['namespace', 'a'.repeat(63), (c) => c.pool.namespace.length, 63],
    ['labelSelector', 'app=metallb', (c) => c.labelSelectors, ['app=metallb']],
    [
      'labelSelector',
      'app==metallb,component!=frr',
      (c) => c.labelSelectors,
      ['app==metallb,component!=frr'],
    ],
    [
      'labelSelector',
      'component in (controller, speaker),!legacy,tier',
      (c) => c.labelSelectors,
      ['component in (controller, speaker),!legacy,tier'],
    ],
    [
      'labelSelector',
      'metallb.io/role notin (x),app.kubernetes.io/name=metal_lb.v1',
      (c) => c.labelSelectors,
      ['metallb.io/role notin (x),app.kubernetes.io/name=metal_lb.v1'],
    ],
    ['labelSelector', 'app=', (c) => c.labelSelectors, ['app=']],
    [
      'labelSelector',
      'app = metallb, component=controller',
      (c) => c.labelSelectors,
      ['app = metallb, component=controller'],
    ],
    ['labelSelector', 'app  in  (a, b)', (c) => c.labelSelectors, ['app  in  (a, b)']],
    ['delegatedLength', '56', (c) => c.policy, { delegatedLength: 56, shortestAnswer: 56 }],
    ['delegatedLength', '1', (c) => c.policy.delegatedLength, 1],
    ['delegatedLength', '64', (c) => c.policy.delegatedLength, 64],
    ['expectedPrefix', '2a02:8070::/29', (c) => c.source.name, 'within(2a02:8070::/29; my-ip)'],
    ['expectedPrefix', ' 2a02:8070::/29 ', (c) => c.source.name, 'within(2a02:8070::/29; my-ip)'],
    ['detectDeadline', '45', (c) => c.detectDeadlineMs, 45_000],
    ['detectDeadline', '2m', (c) => c.detectDeadlineMs, 120_000],
    ['detectDeadline', '0.5', (c) => c.detectDeadlineMs, 500],
    ['interval', '300', (c) => c.intervalMs, 300_000],
    ['interval', '30s', (c) => c.intervalMs, 30_000],
    ['interval', '5m', (c) => c.intervalMs, 300_000],
    ['interval', '1h', (c) => c.intervalMs, 3_600_000],
    ['interval', '1', (c) => c.intervalMs, 1000],
    ['interval', '1.5', (c) => c.intervalMs, 1500],
    ['interval', ' 2 m ', (c) => c.intervalMs, 120_000],
    ['reload', 'auto', (c) => c.reload, 'auto'],
    ['reload', 'always', (c) => c.reload, 'always'],
    ['reload', 'never', (c) => c.reload, 'never'],
    ['backend', 'cilium', (c) => c.backend, 'cilium'],
    ['backend', 'auto', (c) => c.backend, 'auto'],
    ['keepHostParts', 'annotated', (c) => c.keepHostParts, 'annotated'],
    ['keepHostParts', 'all', (c) => c.keepHostParts, 'all'],
    ['reloadTimeout', '90', (c) => c.reloadTimeoutMs, 90_000],
    ['reloadTimeout', '3m', (c) => c.reloadTimeoutMs, 180_000],
    ['reloadTimeout', '10', (c) => c.deadlineMs, 30_000 + 2 * 10_000 + 60_000],
    ['detectDeadline', '5', (c) => c.deadlineMs, 5_000 + 2 * 120_000 + 60_000],
    ['requestTimeout', '3', (c) => c.requestTimeoutMs, 3_000],
    ['requestTimeout', '0.5', (c) => c.requestTimeoutMs, 500],
    ['deadline', '90', (c) => c.deadlineMs, 90_000],
    ['deadline', '5m', (c) => c.deadlineMs, 300_000],
    ['deadline', '168h', (c) => c.deadlineMs, 604_800_000],
    ['reloadTimeout', '0', (c) => c.reloadTimeoutMs, 0],
    // The longest durations still derive a deadline Node's timers can hold (2^31 - 1 ms).
    ['reloadTimeout', '168h', (c) => c.deadlineMs < 2 ** 31 - 1, true],
    ['minTickInterval', '0', (c) => c.minTickIntervalMs, 0],
    ['minTickInterval', '2m', (c) => c.minTickIntervalMs, 120_000],
    ['output', 'text', (c) => c.output, 'text'],
    ['output', 'json', (c) => c.output, 'json'],
    ['logLevel', 'debug', (c) => c.logLevel, 'debug'],
    ['logLevel', 'warn', (c) => c.logLevel, 'warn'],
    ['logLevel', 'error', (c) => c.logLevel, 'error'],
  ];
  it.each(rows)('%s = %j', (name, value, effect, expected) => {
    for (const c of both(name, value)) expect(effect(c)).toEqual(expected);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['On', true],
    [' yes ', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('dry run %j is %s', (value, expected) => {
    for (const c of both('dryRun', value)) expect(c.dryRun).toBe(expected);
    expect(parseBoolean(value)).toBe(expected);
  });

  it('reads an empty value as false, and nothing else unknown as a boolean', () => {
    expect(parseBoolean('')).toBe(false);
    for (const text of ['y', 'n', 'tru', 'truee', '2', 'enabled']) expect(parseBoolean(text)).toBeUndefined();
  });

  it('takes a bare --dry-run flag as true, and an explicit false flag over a true environment', () => {
    const flag = loadConfig(settingsFrom({}, { ...REQUIRED, 'dry-run': true }));
    expect(flag.ok && flag.value.dryRun).toBe(true);
    const off = loadConfig(settingsFrom({ METALLB_DYN6_DRY_RUN: 'true' }, { ...REQUIRED, 'dry-run': false }));
    expect(off.ok && off.value.dryRun).toBe(false);
  });

  it('takes the subnet override and its prefix length together', () => {
    const flags = fromFlags({ 'subnet-override': '0:0:0:cd::', 'prefix-length': '56' });
    const env = fromEnv({ METALLB_DYN6_SUBNET_OVERRIDE: '0:0:0:cd::', METALLB_DYN6_PREFIX_LENGTH: '56' });
    for (const r of [flags, env]) {
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.policy.override?.keep).toBe(56);
      expect(r.value.policy.override?.bits.toString()).toBe('0:0:0:cd::');
    }
  });

  it.each([
    [' 0:0:0:cd:: ', ' 56 ', 56, '0:0:0:cd::'],
    ['4000::', '1', 1, '4000::'],
    ['0:0:0:1::', '63', 63, '0:0:0:1::'],
  ])('takes the override %j at %j', (bits, keep, keepN, bitsText) => {
    const r = fromFlags({ 'subnet-override': bits, 'prefix-length': keep });
    expect(r.ok && [r.value.policy.override?.keep, r.value.policy.override?.bits.toString()]).toEqual([
      keepN,
      bitsText,
    ]);
  });

  it('takes the kubeconfig as a flag only', () => {
    const flag = fromFlags({ kubeconfig: '/etc/k.yaml' });
    expect(flag.ok && flag.value.kubeconfig).toBe('/etc/k.yaml');
    const none = fromEnv({ KUBECONFIG: '/etc/k.yaml' });
    expect(none.ok && 'kubeconfig' in none.value).toBe(false);
  });

  it('has the documented defaults when nothing is given', () => {
    const r = fromFlags({});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { source, hosts, ...rest } = r.value;
    expect(source.name).toBe('my-ip');
    expect(hosts.map((h) => h.text)).toEqual(['::1000-::1999']);
    expect(rest).toEqual({
      sourceSpec: 'my-ip',
      detectDeadlineMs: 30_000,
      backend: 'metallb',
      pool: { namespace: 'metallb-system', name: 'ipv6-pool' },
      labelSelectors: ['app.kubernetes.io/name=metallb,app.kubernetes.io/instance=metallb', 'app=metallb'],
      policy: { delegatedLength: 64, shortestAnswer: 48 },
      intervalMs: 60_000,
      dryRun: false,
      reload: 'auto',
      reloadTimeoutMs: 120_000,
      keepHostParts: 'none',
      requestTimeoutMs: 10_000,
      deadlineMs: 30_000 + 2 * 120_000 + 60_000,
      minTickIntervalMs: 30_000,
      output: 'json',
      logLevel: 'info',
    });
  });

  it('collects exactly the options that were given, flags over environment', () => {
    expect(
      settingsFrom(
        {
          METALLB_DYN6_METALLB_POOL: 'p',
          METALLB_DYN6_OUTPUT: '',
          METALLB_DYN6_RELOAD: undefined,
          OTHER: 'x',
        },
        { namespace: 'n', pool: 'q' },
      ),
    ).toStrictEqual({ pool: 'q', namespace: 'n' });
  });

  it('lets a flag win over the environment, and ignores an empty environment variable', () => {
    const r = loadConfig(
      settingsFrom(
        { METALLB_DYN6_METALLB_NAMESPACE: 'from-env', METALLB_DYN6_OUTPUT: '' },
        { ...REQUIRED, namespace: 'from-flag' },
      ),
    );
    expect(r.ok && [r.value.pool.namespace, r.value.output]).toEqual(['from-flag', 'json']);
  });
});

describe('every bad value is one line naming the option and the value', () => {
  const rows: [OptionName, string, RegExp][] = [
    ['hostRange', '   ', /^--host-range \/ METALLB_DYN6_HOST_RANGE is required$/],
    ['hostRange', ',', /^--host-range \/ METALLB_DYN6_HOST_RANGE: host range: empty$/],
    ['hostRange', '::1000-::1999,', /host range: empty entry$/],
    ['hostRange', '::1000', /host range "::1000": expected "start-end" \(e\.g\. ::1000-::1999\) or a CIDR/],
    ['hostRange', '::1-::2-::3', /host range "::1-::2-::3": expected "start-end"/],
    ['hostRange', 'x-::2', /host range "x-::2": "x" is not an IPv6 address/],
    ['hostRange', '::1- y', /host range "::1- y": "y" is not an IPv6 address/],
    [
      'hostRange',
      '2a02::1000-::1999',
      /"2a02::1000" has prefix bits set; a host part may only use the last 64 bits/,
    ],
    ['hostRange', '::1-0:0:0:1::2', /"0:0:0:1::2" has prefix bits set/],
    ['hostRange', '::1999-::1000', /reversed range, ::1999 comes after ::1000/],
    ['hostRange', '::1000/116/1', /host range "::1000\/116\/1": prefix length must be 64\.\.128, got ""/],
    ['hostRange', '::1-::5,::10-::20,::3-::4', /"::1-::5" and "::3-::4" overlap/],
    ['hostRange', ' 2a02::1 -::2', /host range "2a02::1 -::2": "2a02::1" has prefix bits set/],
    ['hostRange', '::/+100', /host range "::\/\+100": prefix length must be 64\.\.128, got "\+100"/],
    ['hostRange', '::/1e2', /prefix length must be 64\.\.128, got "1e2"/],
    [
      'hostRange',
      '::1999 - ::1000',
      /^[^:]+: host range "::1999 - ::1000": reversed range, ::1999 comes after ::1000$/,
    ],
    ['hostRange', '::1000/63', /host range "::1000\/63": prefix length must be 64\.\.128, got "63"/],
    ['hostRange', '::1000/129', /prefix length must be 64\.\.128, got "129"/],
    ['hostRange', '::1000/x', /prefix length must be 64\.\.128, got "x"/],
    ['hostRange', '::1001/116', /::1001 is not the start of a \/116 block/],
    ['hostRange', '1::/116', /"1::" has prefix bits set/],
    ['hostRange', '::1-::5,::5-::9', /"::1-::5" and "::5-::9" overlap/],
    ['hostRange', '::5-::9,::1-::5', /"::1-::5" and "::5-::9" overlap/],
    ['hostRange', '::1000/120,::10ff-::1100', /"::1000\/120" and "::10ff-::1100" overlap/],
    ['pool', ' ', /^--pool \/ METALLB_DYN6_METALLB_POOL is required$/],
    ['pool', 'Bad_Name', /"Bad_Name" is not a valid Kubernetes object name/],
    ['pool', '-pool', /"-pool" is not a valid Kubernetes object name/],
    ['pool', 'a'.repeat(254), /is not a valid Kubernetes object name/],
    ['namespace', ' ', /^--namespace \/ METALLB_DYN6_METALLB_NAMESPACE is required$/],
    ['namespace', 'a.b', /"a\.b" is not a valid namespace name/],
    ['namespace', 'a'.repeat(64), /is not a valid namespace name/],
    ['labelSelector', ' ', /LABEL_SELECTOR: empty or malformed in " "/],
    ['labelSelector', 'app=x,', /empty or malformed in "app=x,"/],
    ['labelSelector', '=x', /bad term "=x"/],
    ['labelSelector', 'app=a b', /bad term "app=a b"/],
    ['labelSelector', 'app=-x', /bad term "app=-x"/],
    ['labelSelector', 'app in (x,-y)', /bad term "app in \(x,-y\)"/],
    ['labelSelector', 'bad key=x', /bad term "bad key=x"/],
    ['labelSelector', 'Bad.Domain/app=x', /bad term "Bad\.Domain\/app=x"/],
    ['labelSelector', 'a b in (x)', /bad term "a b in \(x\)"/],
    ['labelSelector', 'app in (x)y', /bad term "app in \(x\)y"/],
    ['labelSelector', 'app=a=b', /bad term "app=a=b"/],
    ['labelSelector', '!app=x', /bad term "!app=x"/],
    ['labelSelector', 'app)', /bad term "app\)"/],
    ['delegatedLength', '0', /DELEGATED_PREFIX_LENGTH: "0" is not a prefix length from 1 to 64$/],
    ['delegatedLength', '65', /"65" is not a prefix length from 1 to 64/],
    ['delegatedLength', '48.5', /"48\.5" is not a prefix length from 1 to 64/],
    ['delegatedLength', '/48', /"\/48" is not a prefix length from 1 to 64/],
    ['expectedPrefix', '2a02:8070::', /EXPECTED_PREFIX: "2a02:8070::" is not an IPv6 CIDR/],
    ['expectedPrefix', '10.0.0.0/8', /"10\.0\.0\.0\/8" is not an IPv6 CIDR/],
    ['detectDeadline', '0', /DETECT_DEADLINE: "0" is not a positive duration/],
    ['detectDeadline', '5d', /"5d" is not a positive duration/],
    ['interval', '0.5', /UPDATE_INTERVAL: "0\.5" is not a duration of at least 1 second/],
    ['interval', '0.999', /"0\.999" is not a duration of at least 1 second/],
    ['interval', '-5', /"-5" is not a duration of at least 1 second/],
    ['interval', '5 minutes', /"5 minutes" is not a duration/],
    ['dryRun', 'maybe', /DRY_RUN: "maybe" is not true or false/],
    ['reload', 'sometimes', /RELOAD: "sometimes" is not auto, always or never/],
    ['reload', 'Always', /"Always" is not auto, always or never/],
    ['reloadTimeout', 'x', /RELOAD_TIMEOUT: "x" is not a duration/],
    ['keepHostParts', 'some', /KEEP_HOST_PARTS: "some" is not none, annotated or all/],
    ['backend', 'calico', /METALLB_DYN6_BACKEND: "calico" is not metallb, cilium or auto/],
    ['requestTimeout', '0', /REQUEST_TIMEOUT: "0" is not a positive duration/],
    ['deadline', '0.5', /METALLB_DYN6_DEADLINE: "0\.5" is not a duration of at least 1 second/],
    ['minTickInterval', 'soon', /MIN_TICK_INTERVAL: "soon" is not a duration/],
    // Beyond 2^31 - 1 ms Node fires a timer at once: a 1000 h deadline would end every run at start.
    [
      'deadline',
      '1000h',
      /METALLB_DYN6_DEADLINE: "1000h" is not a duration of at least 1 second and at most 168h$/,
    ],
    [
      'requestTimeout',
      '168.001h',
      /REQUEST_TIMEOUT: "168\.001h" is not a positive duration of at most 168h$/,
    ],
    [
      'interval',
      '10081m',
      /UPDATE_INTERVAL: "10081m" is not a duration of at least 1 second and at most 168h$/,
    ],
    ['reloadTimeout', '700000', /RELOAD_TIMEOUT: "700000" is not a duration of at most 168h$/],
    ['minTickInterval', '169h', /MIN_TICK_INTERVAL: "169h" is not a duration of at most 168h$/],
    ['sourceTimeout', '604801', /SOURCE_TIMEOUT: "604801" is not a positive duration of at most 168h$/],
    ['detectDeadline', '999h', /DETECT_DEADLINE: "999h" is not a positive duration of at most 168h$/],
    ['sourceTimeout', '0', /SOURCE_TIMEOUT: "0" is not a positive duration/],
    ['sourceTimeout', 'x', /"x" is not a positive duration/],
    ['sourceRetries', '6', /SOURCE_RETRIES: "6" is not a whole number from 0 to 5/],
    ['sourceRetries', '-1', /"-1" is not a whole number from 0 to 5/],
    ['sourceRetries', '10', /"10" is not a whole number from 0 to 5/],
    ['sourceRetries', '1.5', /"1\.5" is not a whole number from 0 to 5/],
    [
      'myIpUrl',
      'ftp://example.net/ip',
      /SOURCE: source "my-ip": my-ip URL "ftp:\/\/example\.net\/ip" is not an http\(s\) URL/,
    ],
    ['output', 'yaml', /OUTPUT: "yaml" is not json or text/],
    ['logLevel', 'trace', /LOG_LEVEL: "trace" is not debug, info, warn or error/],
    ['source', 'carrier-pigeon', /SOURCE: source "carrier-pigeon": unknown kind "carrier-pigeon"/],
  ];
  it.each(rows)('%s = %j', (name, value, message) => {
    for (const errors of errorsOf(name, value)) {
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
    }
  });

  it.each([
    [
      { 'subnet-override': '0:0:0:cd::' },
      /--subnet-override \/ METALLB_DYN6_SUBNET_OVERRIDE and --prefix-length \/ METALLB_DYN6_PREFIX_LENGTH must be given together/,
    ],
    [{ 'prefix-length': '56' }, /must be given together/],
    [
      { 'subnet-override': '0:0:0:cd::', 'prefix-length': '0' },
      /prefix length "0": must be a whole number from 1 to 63/,
    ],
    [
      { 'subnet-override': '0:0:0:cd::', 'prefix-length': '64' },
      /prefix length "64": must be a whole number from 1 to 63/,
    ],
    [{ 'subnet-override': '0:0:0:cd::', 'prefix-length': 'x' }, /prefix length "x"/],
    [{ 'subnet-override': 'zz', 'prefix-length': '56' }, /subnet override "zz": not an IPv6 address/],
    [{ 'subnet-override': '0:0:0:cd::', 'prefix-length': '56x' }, /prefix length "56x"/],
    [{ 'subnet-override': '0:0:0:cd::', 'prefix-length': '+56' }, /prefix length "\+56"/],
    [{ 'subnet-override': '0:0:0:cd::', 'prefix-length': '5e1' }, /prefix length "5e1"/],
    [{ 'subnet-override': '0:0:0:cd::', 'prefix-length': 'x56' }, /prefix length "x56"/],
    [
      { 'subnet-override': '0:0:1::', 'prefix-length': '48' },
      /subnet override "0:0:1::": may only set bits 49 to 64/,
    ],
    [{ 'subnet-override': '0:0:0:cd::1', 'prefix-length': '56' }, /may only set bits 57 to 64/],
  ])('override %j', (flags, message) => {
    const r = fromFlags(flags);
    expect(r.ok ? [] : r.error).toEqual([expect.stringMatching(message)]);
  });

  it('reports every problem together, in option order, then those that span options', () => {
    const r = loadConfig(
      settingsFrom(
        {},
        {
          source: 'carrier-pigeon',
          'prefix-length': '56',
          'dry-run': 'maybe',
          output: 'yaml',
          reload: 'x',
          'keep-host-parts': 'x',
          'expected-prefix': 'x',
        },
      ),
    );
    expect(r.ok ? [] : r.error.map((e) => e.split(/[: ]/)[0])).toEqual([
      '--host-range',
      '--pool',
      '--expected-prefix',
      '--dry-run',
      '--keep-host-parts',
      '--reload',
      '--output',
      '--subnet-override',
      '--source',
    ]);
  });

  it('lets the default stand in for a refused value, so the checks that span options still run', () => {
    const errors: string[] = [];
    const values = readOptions({ interval: 'soon', namespace: ' ', pool: 'Bad_Name', deadline: '0' }, errors);
    expect(errors.map((e) => e.split(/[: ]/)[0])).toEqual([
      '--host-range',
      '--pool',
      '--namespace',
      '--interval',
      '--deadline',
    ]);
    expect([values.interval, values.namespace, values.pool, values.hostRange, values.deadline]).toEqual([
      60_000,
      'metallb-system',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("takes every option's default with the option's own parser", () => {
    for (const [name, spec] of Object.entries(OPTION_SPECS)) {
      if (spec.default !== undefined) expect([name, spec.parse(spec.default).ok]).toEqual([name, true]);
    }
  });
});

describe('durations', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['0', 0],
    [' 7 s ', 7000],
    ['0.0004', 0],
    ['0.0006', 1],
  ])('%j is %d ms', (text, ms) => {
    expect(parseSeconds(text)).toBe(ms);
  });
  it.each(['', 's', '1d', '1 hour', '-1', '1e3', '.5', '5ms'])('%j is not a duration', (text) => {
    expect(parseSeconds(text)).toBeUndefined();
  });
});

describe('source settings reach the source that runs', () => {
  let stub: HttpStub;
  beforeAll(async () => {
    stub = await startHttpStub({
      '/slow': { delayMs: 1000, body: '2a02:8071:1234:5678::9' },
      // Retry-After: 0 makes ky retry at once, so counting retries costs no backoff time.
      '/busy': { status: 503, body: 'busy', headers: { 'retry-after': '0' } },
      '/ip.json': json({ success: true, ip: '2a02:8071:1234:5678::9', type: 'IPv6' }),
    });
  });
  afterAll(() => stub.close());

  function sourceOf(flags: Record<string, string>) {
    const r = fromFlags(flags);
    if (!r.ok) throw new Error(r.error.join('; '));
    return r.value.source;
  }
  const failure = async (detection: Promise<unknown>) => (await sourceFailure(detection)).reason;

  it('--source-timeout bounds each request', async () => {
    const source = sourceOf({
      source: `url:${stub.url}/slow`,
      'source-timeout': '0.05',
      'source-retries': '0',
    });
    expect(await failure(source.detect({}))).toBe(`no answer from ${stub.url}/slow within 50 ms`);
  });

  it('--source-retries is the number of retries after the first request', async () => {
    for (const retries of [0, 1, 5]) {
      stub.hits.clear();
      const source = sourceOf({ source: `url:${stub.url}/busy`, 'source-retries': String(retries) });
      expect(await failure(source.detect({}))).toMatch(/answered HTTP 503/);
      expect(stub.hits.get('/busy')).toBe(retries + 1);
    }
  });

  it('--my-ip-url is where my-ip asks', async () => {
    const answer = await sourceOf({ 'my-ip-url': `${stub.url}/ip.json` }).detect({});
    expect(answer.raw).toBe('2a02:8071:1234:5678::9');
  });

  it('--expected-prefix refuses an answer outside it, and passes one inside', async () => {
    const outside = sourceOf({ source: 'static:2a02:8071:1234::/48', 'expected-prefix': '2a02:8070::/32' });
    expect(await failure(outside.detect({}))).toBe(
      'static answered 2a02:8071:1234::/48, outside the expected 2a02:8070::/32',
    );
    const inside = sourceOf({ source: 'static:2a02:8071:1234::/48', 'expected-prefix': '2a02:8070::/29' });
    expect((await inside.detect({})).raw).toBe('2a02:8071:1234::/48');
  });

  it('--delegated-length is the length at which quorum sources must agree', async () => {
    const spec = 'quorum(2; static:2a02:8071:1234:5601::1, static:2a02:8071:1234:5602::1)';
    await expect(sourceOf({ source: spec, 'delegated-length': '56' }).detect({})).resolves.toMatchObject({
      raw: '2a02:8071:1234:5601::1',
    });
    expect(await failure(sourceOf({ source: spec }).detect({}))).toMatch(/only 1 of 2 agree, 2 needed/);
  });
});
