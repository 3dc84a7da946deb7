// From a source's answer to the /64 the pool's IPv6 range lives in.
import { fail, ok, type Result } from '../errors/result.js';
import type { HostRange } from './host-range.js';
import { SUBNET_LENGTH } from './host-range.js';
import { hostBitsOf, isZero, networkOf, or, parseIPv6, type IPv6 } from './ipv6.js';

/** Keep the first `keep` bits of the delegated prefix and OR in `bits` (the Rust tool's subnet override). */
export interface SubnetOverride {
  keep: number;
  bits: IPv6;
}

export interface PrefixPolicy {
  /** Length of the prefix the ISP delegates, as seen in the source's answer (default 64). */
  delegatedLength: number;
  /**
   * The shortest prefix length an answer may carry: --delegated-length when it was given, else 48
   * (no residential delegation is larger; a /3 or /29 is a typo, not a prefix of yours).
   */
  shortestAnswer: number;
  override?: SubnetOverride;
}

/** The delegations an unconfigured tool accepts: RIRs assign end sites at most a /48. */
export const SHORTEST_DELEGATION = 48;

/** Refuses an answer whose prefix is shorter than a delegation to this site can be. */
export function checkAnswerLength(
  raw: string,
  answerLength: number | undefined,
  policy: PrefixPolicy,
): Result<void> {
  if (answerLength === undefined || answerLength >= policy.shortestAnswer) return ok(undefined);
  return fail(
    `answer ${raw} is a /${String(answerLength)}, shorter than a prefix delegated to you can be (/${String(policy.shortestAnswer)} at most); ` +
      `if your delegation really is that large, set --delegated-length / METALLB_DYN6_DELEGATED_PREFIX_LENGTH to ${String(answerLength)}`,
  );
}

export function parseSubnetOverride(bitsText: string, keepText: string): Result<SubnetOverride> {
  const keep = /^\d+$/.test(keepText.trim()) ? Number(keepText.trim()) : NaN;
  if (!(keep >= 1 && keep <= 63)) {
    return fail(`prefix length "${keepText}": must be a whole number from 1 to 63`);
  }
  const bits = parseIPv6(bitsText.trim());
  if (bits === undefined) return fail(`subnet override "${bitsText}": not an IPv6 address`);
  if (!isZero(networkOf(bits, keep)) || !isZero(hostBitsOf(bits, SUBNET_LENGTH))) {
    return fail(
      `subnet override "${bitsText}": may only set bits ${String(keep + 1)} to 64 (those after the kept /${String(keep)} and before the host part)`,
    );
  }
  return ok({ keep, bits });
}

/**
 * The /64 network for the pool: the answer's network at the delegated length (or at the answer's
 * own, shorter, prefix length), with the subnet override applied.
 */
export function subnetFor(answer: IPv6, answerLength: number | undefined, policy: PrefixPolicy): IPv6 {
  const delegated = networkOf(answer, Math.min(answerLength ?? 128, policy.delegatedLength));
  const overridden =
    policy.override === undefined
      ? delegated
      : or(networkOf(delegated, policy.override.keep), policy.override.bits);
  return networkOf(overridden, SUBNET_LENGTH);
}

/** The pool entries this tool wants: each host range placed in the subnet, in MetalLB's syntax. */
export function desiredEntries(subnet: IPv6, hosts: readonly HostRange[]): string[] {
  return hosts.map((h) =>
    h.kind === 'cidr'
      ? `${or(subnet, h.first).toString()}/${String(h.length)}`
      : `${or(subnet, h.first).toString()}-${or(subnet, h.last).toString()}`,
  );
}
