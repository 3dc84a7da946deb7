import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../harness/binaries.js';
import { loadConfig, type ConfigResult } from '../../lib/config/config.js';
import { helpText } from '../../lib/config/help.js';
import { OPTION_SPECS, settingsFrom } from '../../lib/config/options.js';

const RUST_ENV = {
  METALLB_DYN6_HOST_RANGE: '::1000-::1999',
  METALLB_DYN6_METALLB_POOL: 'home-ipv6',
};

function load(env: Record<string, string>, flags: Record<string, string | boolean> = {}): ConfigResult {
  return loadConfig(settingsFrom(env, flags));
}

function config(env: Record<string, string>, flags: Record<string, string | boolean> = {}) {
  const result = load(env, flags);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

describe('configuration', () => {
  it("reads the Rust tool's environment names with its defaults", () => {
    const c = config(RUST_ENV);
    expect(c.pool).toEqual({ namespace: 'metallb-system', name: 'home-ipv6' });
    expect(c.labelSelector).toBe('app.kubernetes.io/name=metallb,app.kubernetes.io/instance=metallb');
    expect(c.source.name).toBe('my-ip');
    expect(c.intervalMs).toBe(60_000);
    expect(c.dryRun).toBe(false);
    expect(c.reload).toBe('auto');
    expect(c.policy).toEqual({ delegatedLength: 64 });
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
      labelSelector: 'app=metallb',
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

  it('reports every problem at once, one line each, naming the bad value', () => {
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
    expect(result.errors).toEqual([
      expect.stringMatching(/HOST_RANGE: host range "::1999-::1000": reversed range/),
      expect.stringMatching(/METALLB_POOL is required/),
      expect.stringMatching(/"Bad_NS" is not a valid namespace name/),
      expect.stringMatching(/LABEL_SELECTOR: bad term "=x"/),
      expect.stringMatching(/SUBNET_OVERRIDE and .*PREFIX_LENGTH must be given together/),
      expect.stringMatching(/UPDATE_INTERVAL: "soon" is not a duration/),
      expect.stringMatching(/DRY_RUN: "maybe" is not true or false/),
      expect.stringMatching(
        /SOURCE: source static: answer "fd00::1" is not a global unicast address: unique local/,
      ),
    ]);
    for (const e of result.errors) expect(e).not.toContain('\n');
  });

  it('refuses a prefix length outside 1..63 and an unknown source', () => {
    const result = load({
      ...RUST_ENV,
      METALLB_DYN6_SUBNET_OVERRIDE: '0:0:0:cd::',
      METALLB_DYN6_PREFIX_LENGTH: '64',
      METALLB_DYN6_SOURCE: 'carrier-pigeon',
    });
    expect(result.ok ? [] : result.errors).toEqual([
      expect.stringMatching(/prefix length "64": must be a whole number from 1 to 63/),
      expect.stringMatching(/unknown kind "carrier-pigeon"/),
    ]);
  });

  it('documents every option and its environment name in --help', () => {
    const help = helpText('metallb-dyn6');
    for (const spec of Object.values(OPTION_SPECS)) {
      expect(help).toContain(`--${spec.flag}`);
      for (const env of spec.env) expect(help).toContain(env);
    }
  });

  it('keeps the README option table in step with the options', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const spec of Object.values(OPTION_SPECS)) {
      expect(readme).toMatch(new RegExp(`\\|\\s*\`--${spec.flag}\`\\s*\\|`));
      for (const env of spec.env) expect(readme).toContain(`\`${env}\``);
    }
  });
});
