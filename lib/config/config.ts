// Turns raw settings into a checked configuration, collecting every problem before anything runs.
// Each option is parsed by its entry in the option table; the checks here are those that need
// several options at once.
import type { HostRange } from '../prefix/host-range.js';
import { parseSubnetOverride, SHORTEST_DELEGATION, type PrefixPolicy } from '../prefix/subnet.js';
import { withinSource } from '../source/combinators.js';
import { parseSource } from '../source/parse-source.js';
import type { PrefixSource } from '../source/source.js';
import { fail, ok, type Result } from '../errors/result.js';
import type {
  BackendChoice,
  KeepMode,
  LogLevel,
  OutputFormat,
  PublishMode,
  RecordKind,
  ReloadStrategy,
} from './choices.js';
import type { Translation } from '../prefix/nptv6.js';
import { equal, networkOf, type IPv6 } from '../prefix/ipv6.js';
import {
  MANIFEST_LABEL_SELECTOR,
  optionLabel,
  OPTION_ENTRIES,
  type OptionName,
  type OptionSpec,
  type OptionValues,
  type RawSettings,
} from './options.js';

export interface Config {
  source: PrefixSource;
  sourceSpec: string;
  detectDeadlineMs: number;
  hosts: HostRange[];
  backend: BackendChoice;
  /** The pool's name, and MetalLB's namespace (where its pool is; a Cilium pool has none). */
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
  /** Set with --nptv6: Services' public addresses are published, the pool is never written. */
  nptv6?: Nptv6Settings;
}

export interface Nptv6Settings {
  translation: Translation;
  /** The router's inside prefix (its network address), as long as the delegation. */
  inside: IPv6;
  length: number;
  publish: PublishMode;
  records: RecordKind;
}

/** The option's value, or the line that reports it. `publishing`: --nptv6 is on, no pool is kept. */
function readOption(
  name: OptionName,
  spec: OptionSpec,
  given: string | undefined,
  publishing: boolean,
): Result<unknown> {
  const required = spec.required === true && !(publishing && spec.poolOnly === true);
  if (required && (given === undefined || given.trim() === '')) {
    return fail(`${optionLabel(name)} is required`);
  }
  if (given === undefined) return ok(undefined);
  const parsed = spec.parse(spec.required === true ? given.trim() : given);
  return parsed.ok ? parsed : fail(`${optionLabel(name)}: ${parsed.error}`);
}

/** Stands in for a refused value, so that the checks across options still run on a valid one. */
function standIn(name: OptionName, spec: OptionSpec): unknown {
  if (spec.default === undefined) return undefined;
  const parsed = spec.parse(spec.default);
  // Stryker disable next-line ConditionalExpression,StringLiteral: a unit test parses every default
  if (!parsed.ok) throw new Error(`internal: the default of ${name} is not valid`);
  return parsed.value;
}

/**
 * Every option's value, given or default, in the table's order. A refused value is reported and its
 * default stands in; the configuration is refused anyway.
 */
export function readOptions(raw: RawSettings, errors: string[]): OptionValues {
  const values: Partial<Record<OptionName, unknown>> = {};
  const publishing = (raw.nptv6 ?? 'off').trim() !== 'off';
  for (const [name, spec] of OPTION_ENTRIES) {
    const read = readOption(name, spec, raw[name] ?? spec.default, publishing);
    if (!read.ok) errors.push(read.error);
    values[name] = read.ok ? read.value : standIn(name, spec);
  }
  // Each value came from its option's own parser, or is the parsed default, or (no default) undefined.
  return values as OptionValues;
}

/** The delegated length, and the subnet override, which takes both of its options or neither. */
function prefixPolicy(raw: RawSettings, delegatedLength: number, errors: string[]): PrefixPolicy {
  const policy: PrefixPolicy = {
    delegatedLength,
    shortestAnswer: raw.delegatedLength === undefined ? SHORTEST_DELEGATION : delegatedLength,
  };
  const { subnetOverride, prefixLength } = raw;
  if (subnetOverride !== undefined && prefixLength !== undefined) {
    const parsed = parseSubnetOverride(subnetOverride, prefixLength);
    if (parsed.ok) policy.override = parsed.value;
    else errors.push(parsed.error);
  } else if (subnetOverride !== undefined || prefixLength !== undefined) {
    errors.push(`${optionLabel('subnetOverride')} and ${optionLabel('prefixLength')} must be given together`);
  }
  return policy;
}

/** The source its spec names, built with the source options and held to --expected-prefix. */
function sourceOf(values: OptionValues, errors: string[]): PrefixSource | undefined {
  const source = parseSource(values.source, {
    myIpUrl: values.myIpUrl,
    timeoutMs: values.sourceTimeout,
    retries: values.sourceRetries,
    delegatedLength: values.delegatedLength,
  });
  if (!source.ok) {
    errors.push(`${optionLabel('source')}: ${source.error}`);
    return undefined;
  }
  const range = values.expectedPrefix;
  return range === undefined ? source.value : withinSource(range, source.value);
}

/** --nptv6's settings, or undefined when it is off (or refused: then a line in `errors` says why). */
function nptv6Of(v: OptionValues, errors: string[]): Nptv6Settings | undefined {
  if (v.nptv6 === 'off') return undefined;
  if (v.nptv6Inside === undefined) {
    errors.push(`${optionLabel('nptv6Inside')} is required with ${optionLabel('nptv6')} ${v.nptv6}`);
    return undefined;
  }
  const [address, length] = v.nptv6Inside;
  const inside = networkOf(address, length);
  if (length !== v.delegatedLength) {
    errors.push(
      `${optionLabel('nptv6Inside')}: a /${String(length)}, but the delegation is a /${String(v.delegatedLength)} (${optionLabel('delegatedLength')}): NPTv6 maps a prefix onto one of the same length`,
    );
  } else if (!equal(inside, address)) {
    errors.push(
      `${optionLabel('nptv6Inside')}: ${address.toString()} has bits set past /${String(length)}; did you mean ${inside.toString()}/${String(length)}?`,
    );
  }
  return { translation: v.nptv6, inside, length, publish: v.nptv6Publish, records: v.nptv6Records };
}

export function loadConfig(raw: RawSettings): Result<Config, string[]> {
  const errors: string[] = [];
  const v = readOptions(raw, errors);
  const policy = prefixPolicy(raw, v.delegatedLength, errors);
  const source = sourceOf(v, errors);
  const nptv6 = nptv6Of(v, errors);
  if (errors.length > 0) return fail(errors);
  // Stryker disable next-line ConditionalExpression,LogicalOperator: each left a line in errors; for the compiler
  if (source === undefined || (nptv6 === undefined && (v.hostRange === undefined || v.pool === undefined)))
    return fail(errors);
  return ok({
    source,
    sourceSpec: v.source,
    detectDeadlineMs: v.detectDeadline,
    // Publishing (--nptv6) keeps no pool: no range and no pool name.
    hosts: v.hostRange ?? [],
    backend: v.backend,
    pool: { namespace: v.namespace, name: v.pool ?? '' },
    labelSelectors:
      raw.labelSelector === undefined ? [v.labelSelector, MANIFEST_LABEL_SELECTOR] : [v.labelSelector],
    policy,
    intervalMs: v.interval,
    minTickIntervalMs: v.minTickInterval,
    dryRun: v.dryRun,
    reload: v.reload,
    reloadTimeoutMs: v.reloadTimeout,
    keepHostParts: v.keepHostParts,
    requestTimeoutMs: v.requestTimeout,
    // Room for detection, the reload wait, the rollback's reload wait, and the requests around them.
    deadlineMs: v.deadline ?? v.detectDeadline + 2 * v.reloadTimeout + 60_000,
    ...(v.kubeconfig === undefined ? {} : { kubeconfig: v.kubeconfig }),
    output: v.output,
    logLevel: v.logLevel,
    ...(nptv6 === undefined ? {} : { nptv6 }),
  });
}
