import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../devcluster/binaries.js';
import { loadConfig, type Config } from '../../lib/config/config.js';
import type { Result } from '../../lib/errors/result.js';
import { helpText } from '../../lib/config/help.js';
import { OPTION_SPECS, settingsFrom } from '../../lib/config/options.js';

const RUST_ENV = {
  METALLB_DYN6_HOST_RANGE: '::1000-::1999',
  METALLB_DYN6_METALLB_POOL: 'home-ipv6',
};

function load(
  env: Record<string, string>,
  flags: Record<string, string | boolean> = {},
): Result<Config, string[]> {
  return loadConfig(settingsFrom(env, flags));
}

function config(env: Record<string, string>, flags: Record<string, string | boolean> = {}) {
  const result = load(env, flags);
  if (!result.ok) throw new Error(result.error.join('\n'));
  return result.value;
}

describe('configuration', () => {
  it('with --nptv6 needs no pool or host range, but the inside prefix, as long as the delegation', () => {
    const nptv6 = { METALLB_DYN6_NPTV6: 'rfc6296', METALLB_DYN6_DELEGATED_PREFIX_LENGTH: '48' };
    const c = config({ ...nptv6, METALLB_DYN6_NPTV6_INSIDE: 'fd00:1234:5678::/48' });
    expect(c.nptv6).toMatchObject({
      translation: 'rfc6296',
      length: 48,
      publish: 'all',
      records: 'annotations',
    });
    expect(c.nptv6?.inside.toString()).toBe('fd00:1234:5678::');
    const refused = (extra: Record<string, string>) => {
      const r = load({ ...nptv6, ...extra });
      return r.ok ? [] : r.error;
    };
    expect(refused({})).toEqual([expect.stringMatching(/NPTV6_INSIDE is required with .*rfc6296$/)]);
    expect(refused({ METALLB_DYN6_NPTV6_INSIDE: 'fd00:1234:5678::/56' })).toEqual([
      expect.stringMatching(/a \/56, but the delegation is a \/48 .*same length$/),
    ]);
    expect(refused({ METALLB_DYN6_NPTV6_INSIDE: 'fd00:1234:5678:1::/48' })).toEqual([
      expect.stringMatching(/has bits set past \/48; did you mean fd00:1234:5678::\/48\?$/),
    ]);
    // Without --nptv6 the pool is still required.
    expect(load({}).ok).toBe(false);
  });

  it("reads the Rust tool's environment names with its defaults", () => {
    const c = config(RUST_ENV);
    expect(c.pool).toEqual({ namespace: 'metallb-system', name: 'home-ipv6' });
    // The Rust tool's default first; MetalLB's own manifests' labels when it matches nothing.
    expect(c.labelSelectors).toEqual([
      'app.kubernetes.io/name=metallb,app.kubernetes.io/instance=metallb',
      'app=metallb',
    ]);
    expect(c.source.name).toBe('my-ip');
    expect(c.intervalMs).toBe(60_000);
    expect(c.dryRun).toBe(false);
    expect(c.reload).toBe('auto');
    expect(c.policy).toEqual({ delegatedLength: 64, shortestAnswer: 48 });
  });

  it('reads every Rust tool setting', () => {
    const c = config({
      ...RUST_ENV,
      METALLB_DYN6_SOURCE: 'static:2a02:8071:1234:5678::9',
      METALLB_DYN6_METALLB_NAMESPACE: 'lb',
      METALLB_DYN6_METALLB_LABEL_SELECTOR: 'app=metallb',
      METALLB_DYN6_SUBNET_OVERRIDE: '0:0:0:cd::',
      METALLB_DYN6_PREFIX_LENGTH: '56',
      METALLB_DYN6_UPDATE_INTERVAL: '300',
      METALLB_DYN6_DRY_RUN: 'true',
    });
    expect(c).toMatchObject({
      pool: { namespace: 'lb' },
      labelSelectors: ['app=metallb'],
      intervalMs: 300_000,
      dryRun: true,
    });
    expect(c.policy.override?.keep).toBe(56);
    expect(c.source.name).toBe('static');
  });

  it('lets flags win over the environment', () => {
    const c = config(
      { ...RUST_ENV, METALLB_DYN6_METALLB_NAMESPACE: 'from-env' },
      { namespace: 'from-flag', 'dry-run': true },
    );
    expect(c.pool.namespace).toBe('from-flag');
    expect(c.dryRun).toBe(true);
  });

  it('reports every problem at once, one line each, naming the bad value, in option order', () => {
    const result = load({
      METALLB_DYN6_HOST_RANGE: '::1999-::1000',
      METALLB_DYN6_METALLB_NAMESPACE: 'Bad_NS',
      METALLB_DYN6_SUBNET_OVERRIDE: '0:0:0:cd::',
      METALLB_DYN6_UPDATE_INTERVAL: 'soon',
      METALLB_DYN6_DRY_RUN: 'maybe',
      METALLB_DYN6_SOURCE: 'static:fd00::1',
      METALLB_DYN6_METALLB_LABEL_SELECTOR: 'app=,=x',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toEqual([
      expect.stringMatching(/HOST_RANGE: host range "::1999-::1000": reversed range/),
      expect.stringMatching(/METALLB_POOL is required/),
      expect.stringMatching(/"Bad_NS" is not a valid namespace name/),
      expect.stringMatching(/LABEL_SELECTOR: bad term "=x"/),
      expect.stringMatching(/UPDATE_INTERVAL: "soon" is not a duration/),
      expect.stringMatching(/DRY_RUN: "maybe" is not true or false/),
      // Then the checks that need several options: the override's pair, the source with its settings.
      expect.stringMatching(/SUBNET_OVERRIDE and .*PREFIX_LENGTH must be given together/),
      expect.stringMatching(
        /SOURCE: source static: answer "fd00::1" is not a global unicast address: unique local/,
      ),
    ]);
    for (const e of result.error) expect(e).not.toContain('\n');
  });

  it('refuses a prefix length outside 1..63 and an unknown source', () => {
    const result = load({
      ...RUST_ENV,
      METALLB_DYN6_SUBNET_OVERRIDE: '0:0:0:cd::',
      METALLB_DYN6_PREFIX_LENGTH: '64',
      METALLB_DYN6_SOURCE: 'carrier-pigeon',
    });
    expect(result.ok ? [] : result.error).toEqual([
      expect.stringMatching(/prefix length "64": must be a whole number from 1 to 63/),
      expect.stringMatching(/unknown kind "carrier-pigeon"/),
    ]);
  });

  it('--help says what the README table says: every flag, its environment name and its default', () => {
    const help = helpText('metallb-dyn6');
    // Parsed from the options section of --help: flag, then "(env A; default D)" two lines down.
    const inHelp = new Map(
      [
        ...help.matchAll(
          /^ {2}--([a-z-]+)(?: <value>)?\n.*\n {6}\((?:env ([A-Z_0-9, ]+)|flag only)(?:; default (.*))?\)$/gm,
        ),
      ].map((m) => [m[1], { env: m[2] ?? '', def: m[3] ?? '' }]),
    );
    // The README's table is written by hand: an independent statement of the same facts.
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `--([a-z-]+)` +\| (.*?) +\| (.*?) +\|/gm)].map((m) => ({
      flag: m[1] ?? '',
      // One name or several (`METALLB_DYN6_PORT`, `PORT`), as --help lists them; `(KUBECONFIG)` is not ours.
      env: /^`METALLB_DYN6_[A-Z_0-9]+`(, `[A-Z_0-9]+`)*$/.test(m[2] ?? '')
        ? [...(m[2] ?? '').matchAll(/`([A-Z_0-9]+)`/g)].map((n) => n[1]).join(', ')
        : '',
      def: /^`([^`]*)`$/.exec(m[3] ?? '')?.[1] ?? '',
    }));
    expect(rows.length).toBeGreaterThan(15);
    expect([...inHelp.keys()].sort()).toEqual(rows.map((r) => r.flag).sort());
    for (const row of rows) expect({ flag: row.flag, ...inHelp.get(row.flag) }).toEqual(row);
  });

  it('--help reads as documented for a required, a defaulted, a boolean and a flag-only option', () => {
    const help = helpText('metallb-dyn6');
    expect(help).toMatch(/^Usage: metallb-dyn6 \[sync\|run\|serve\] \[options\]$/m);
    expect(help).toContain('  --host-range <value>\n');
    expect(help).toContain('      (env METALLB_DYN6_HOST_RANGE)\n');
    expect(help).toContain('      (env METALLB_DYN6_METALLB_NAMESPACE; default metallb-system)\n');
    expect(help).toContain(
      '  --dry-run\n      Print what would change and write nothing\n      (env METALLB_DYN6_DRY_RUN; default false)',
    );
    expect(help).toContain('  --kubeconfig <value>\n');
    expect(help).toMatch(/ {6}\(flag only\)\n {2}--output/);
    expect(
      help.endsWith('The result of each run is a JSON document on stdout; logs are JSON lines on stderr.'),
    ).toBe(true);
  });

  it('keeps the README option table in step with the options', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const spec of Object.values(OPTION_SPECS)) {
      expect(readme).toMatch(new RegExp(`\\|\\s*\`--${spec.flag}\`\\s*\\|`));
      for (const env of spec.env) expect(readme).toContain(`\`${env}\``);
    }
  });
});
