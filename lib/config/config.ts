// Turns raw settings into a checked configuration, collecting every problem before anything runs.
import { parseHostRanges, type HostRange } from '../prefix/host-range.js';
import { parseSubnetOverride, SHORTEST_DELEGATION, type PrefixPolicy } from '../prefix/subnet.js';
import { parseCidr, withinSource } from '../source/combinators.js';
import { parseSource } from '../source/parse-source.js';
import type { PrefixSource } from '../source/source.js';
import { fail, ok, type Result } from '../errors/result.js';
import {
  KEEP_MODES,
  LOG_LEVELS,
  OUTPUT_FORMATS,
  RELOAD_STRATEGIES,
  type KeepMode,
  type LogLevel,
  type OutputFormat,
  type ReloadStrategy,
} from './choices.js';
import {
  MANIFEST_LABEL_SELECTOR,
  MAX_DURATION_HOURS,
  optionLabel,
  OPTION_SPECS,
  type OptionName,
  type RawSettings,
} from './options.js';

export interface Config {
  source: PrefixSource;
  sourceSpec: string;
  detectDeadlineMs: number;
  hosts: HostRange[];
  pool: { namespace: string; name: string };
  /** Tried in order until one matches MetalLB's pods: the one given, or Helm's then the manifests' labels. */
  labelSelectors: string[];
  policy: PrefixPolicy;
  intervalMs: number;
  minTickIntervalMs: number;
  dryRun: boolean;
  reload: ReloadStrategy;
  reloadTimeoutMs: number;
  keepHostParts: KeepMode;
  requestTimeoutMs: number;
  /** The whole run, detection, requests, waits and a rollback included. */
  deadlineMs: number;
  kubeconfig?: string;
  output: OutputFormat;
  logLevel: LogLevel;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Checks a label selector's syntax: equality and set-based terms, as kubectl accepts them. */
function selectorProblem(selector: string): string | undefined {
  // Stryker disable next-line ArrayDeclaration: the pattern matches any selector the check below passes
  const terms = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  if (selector.trim() === '' || terms.join(',') !== selector) return 'empty or malformed';
  for (const term of terms.map((t) => t.trim())) {
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    const set = /^([^\s]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    const exists = /^!?([^\s=!()]+)$/.exec(term);
    // Stryker disable StringLiteral: a group of a pattern that matched is never undefined
    const ok =
      (eq !== null && LABEL_KEY.test(eq[1] ?? '') && LABEL_VALUE.test(eq[3] ?? '')) ||
      (set !== null &&
        LABEL_KEY.test(set[1] ?? '') &&
        (set[3] ?? '').split(',').every((v) => LABEL_VALUE.test(v.trim()))) ||
      (exists !== null && LABEL_KEY.test(exists[1] ?? ''));
    // Stryker restore StringLiteral
    if (!ok) return `bad term "${term}"`;
  }
  return undefined;
}

/** Seconds as "90", "90s", "5m" or "1h" → milliseconds. */
export function parseSeconds(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  const factor = { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * factor * 1000);
}

/** A duration of at least `minMs` and at most MAX_DURATION_HOURS. */
function durationFrom(minMs: number): (text: string) => number | undefined {
  return (text) => {
    const ms = parseSeconds(text);
    // Stryker disable next-line ConditionalExpression: undefined fails both comparisons anyway
    if (ms === undefined || ms < minMs || ms > MAX_DURATION_HOURS * 3_600_000) return undefined;
    return ms;
  };
}

const upTo = `at most ${String(MAX_DURATION_HOURS)}h`;

export function parseBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off', ''].includes(t)) return false;
  return undefined;
}

/** A parser for one of `words`, and how to name them in an error: "a, b or c". */
function oneOf<T extends string>(words: readonly T[]): [(value: string) => T | undefined, string] {
  const parse = (value: string) => ((words as readonly string[]).includes(value) ? (value as T) : undefined);
  return [parse, `${words.slice(0, -1).join(', ')} or ${String(words.at(-1))}`];
}

export function loadConfig(raw: RawSettings): Result<Config, string[]> {
  const errors: string[] = [];
  const value = (name: OptionName): string | undefined => raw[name] ?? OPTION_SPECS[name].default;
  const required = (name: OptionName): string => {
    const v = value(name);
    if (v === undefined || v.trim() === '') errors.push(`${optionLabel(name)} is required`);
    return v?.trim() ?? '';
  };
  /**
   * The option's value, parsed. A bad one is reported, and its default (the option table's, or
   * `derivedDefault` for an option whose default depends on others) stands in so that the checks
   * after it still run; the configuration is refused anyway.
   */
  function checked<T>(
    name: OptionName,
    parse: (v: string) => T | undefined,
    expected: string,
    derivedDefault?: T,
  ): T {
    const given = value(name);
    if (given === undefined && derivedDefault !== undefined) return derivedDefault;
    // Stryker disable next-line StringLiteral: every other option read here has a default
    const text = given ?? '';
    const parsed = parse(text);
    if (parsed !== undefined) return parsed;
    errors.push(`${optionLabel(name)}: "${text}" is not ${expected}`);
    if (derivedDefault !== undefined) return derivedDefault;
    // Stryker disable next-line StringLiteral: every option read here has a default
    const fallback = parse(OPTION_SPECS[name].default ?? '');
    // Stryker disable next-line ConditionalExpression,StringLiteral: unit tests parse every default
    if (fallback === undefined) throw new Error(`internal: the default of ${name} is not valid`);
    return fallback;
  }

  const hostText = required('hostRange');
  const parsedHosts = hostText === '' ? undefined : parseHostRanges(hostText);
  if (parsedHosts?.ok === false) errors.push(`${optionLabel('hostRange')}: ${parsedHosts.error}`);

  const poolName = required('pool');
  if (poolName !== '' && (!DNS_SUBDOMAIN.test(poolName) || poolName.length > 253)) {
    errors.push(`${optionLabel('pool')}: "${poolName}" is not a valid Kubernetes object name`);
  }
  const namespace = required('namespace');
  if (namespace !== '' && (!DNS_LABEL.test(namespace) || namespace.length > 63)) {
    errors.push(`${optionLabel('namespace')}: "${namespace}" is not a valid namespace name`);
  }
  // Stryker disable next-line StringLiteral: the option has a default
  const labelSelector = value('labelSelector') ?? '';
  const selectorError = selectorProblem(labelSelector);
  if (selectorError !== undefined)
    errors.push(`${optionLabel('labelSelector')}: ${selectorError} in "${labelSelector}"`);

  const delegatedLength = checked(
    'delegatedLength',
    (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64 ? Number(v) : undefined),
    'a prefix length from 1 to 64',
  );
  const policy: PrefixPolicy = {
    delegatedLength,
    shortestAnswer: raw.delegatedLength === undefined ? SHORTEST_DELEGATION : delegatedLength,
  };
  const overrideText = raw.subnetOverride;
  const keepText = raw.prefixLength;
  if (overrideText !== undefined && keepText !== undefined) {
    const parsed = parseSubnetOverride(overrideText, keepText);
    if (parsed.ok) policy.override = parsed.value;
    else errors.push(parsed.error);
  } else if (overrideText !== undefined || keepText !== undefined) {
    errors.push(`${optionLabel('subnetOverride')} and ${optionLabel('prefixLength')} must be given together`);
  }

  const intervalMs = checked('interval', durationFrom(1000), `a duration of at least 1 second and ${upTo}`);
  const minTickIntervalMs = checked('minTickInterval', durationFrom(0), `a duration of ${upTo}`);
  const dryRun = checked('dryRun', parseBoolean, 'true or false');
  const reload = checked('reload', ...oneOf(RELOAD_STRATEGIES));
  const reloadTimeoutMs = checked('reloadTimeout', durationFrom(0), `a duration of ${upTo}`);
  const keepHostParts = checked('keepHostParts', ...oneOf(KEEP_MODES));
  const sourceTimeoutMs = checked('sourceTimeout', durationFrom(1), `a positive duration of ${upTo}`);
  const retries = checked(
    'sourceRetries',
    (v) => (/^\d$/.test(v) && Number(v) <= 5 ? Number(v) : undefined),
    'a whole number from 0 to 5',
  );
  const output = checked('output', ...oneOf(OUTPUT_FORMATS));
  const logLevel = checked('logLevel', ...oneOf(LOG_LEVELS));

  const detectDeadlineMs = checked('detectDeadline', durationFrom(1), `a positive duration of ${upTo}`);
  const requestTimeoutMs = checked('requestTimeout', durationFrom(1), `a positive duration of ${upTo}`);
  // Room for detection, the reload wait, the rollback's reload wait, and the requests around them.
  const deadlineMs = checked(
    'deadline',
    durationFrom(1000),
    `a duration of at least 1 second and ${upTo}`,
    detectDeadlineMs + 2 * reloadTimeoutMs + 60_000,
  );
  // Stryker disable next-line StringLiteral: the option has a default
  const sourceSpec = value('source') ?? '';
  let source = parseSource(sourceSpec, {
    // Stryker disable next-line StringLiteral: the option has a default
    myIpUrl: value('myIpUrl') ?? '',
    timeoutMs: sourceTimeoutMs,
    retries,
    delegatedLength: policy.delegatedLength,
  });
  if (!source.ok) errors.push(`${optionLabel('source')}: ${source.error}`);
  if (raw.expectedPrefix !== undefined) {
    const range = parseCidr(raw.expectedPrefix);
    if (range === undefined)
      errors.push(`${optionLabel('expectedPrefix')}: "${raw.expectedPrefix}" is not an IPv6 CIDR`);
    // Stryker disable next-line ConditionalExpression: a bad source already failed the configuration
    else if (source.ok) source = ok(withinSource(range, source.value));
  }

  // Every failed parse above left a line in errors; the other two tests are for the compiler.
  // Stryker disable next-line ConditionalExpression,OptionalChaining: see above
  if (errors.length > 0 || !source.ok || parsedHosts?.ok !== true) return fail(errors);
  return ok({
    source: source.value,
    sourceSpec,
    detectDeadlineMs,
    hosts: parsedHosts.value,
    pool: { namespace, name: poolName },
    labelSelectors:
      raw.labelSelector === undefined ? [labelSelector, MANIFEST_LABEL_SELECTOR] : [labelSelector],
    policy,
    intervalMs,
    minTickIntervalMs,
    dryRun,
    reload,
    reloadTimeoutMs,
    keepHostParts,
    requestTimeoutMs,
    deadlineMs,
    ...(raw.kubeconfig === undefined ? {} : { kubeconfig: raw.kubeconfig }),
    output,
    logLevel,
  });
}
