// The configured host part of the pool's IPv6 range(s): everything after the /64.
import { fail, ok, type Result } from '../errors/result.js';
import { splitPair } from '../text/split-pair.js';
import { hostBitsOf, isZero, lastOf, networkOf, parseIPv6, toBigInt, type IPv6 } from './ipv6.js';

export const SUBNET_LENGTH = 64;

export type HostRange =
  | { kind: 'range'; text: string; first: IPv6; last: IPv6 }
  | { kind: 'cidr'; text: string; first: IPv6; length: number };

function hostAddress(text: string, whole: string): Result<IPv6> {
  const address = parseIPv6(text.trim());
  if (address === undefined) return fail(`host range "${whole}": "${text.trim()}" is not an IPv6 address`);
  if (!isZero(networkOf(address, SUBNET_LENGTH))) {
    return fail(
      `host range "${whole}": "${text.trim()}" has prefix bits set; a host part may only use the last 64 bits (e.g. ::1000)`,
    );
  }
  return ok(address);
}

function parseOne(text: string): Result<HostRange> {
  if (text === '') return fail('host range: empty entry');
  if (text.includes('/')) {
    const [base, lengthText] = splitPair(text, '/') ?? [text, ''];
    const length = /^\d+$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length >= SUBNET_LENGTH && length <= 128)) {
      return fail(`host range "${text}": prefix length must be 64..128, got "${lengthText}"`);
    }
    const first = hostAddress(base, text);
    if (!first.ok) return first;
    if (!isZero(hostBitsOf(first.value, length))) {
      return fail(`host range "${text}": ${base} is not the start of a /${String(length)} block`);
    }
    return ok({ kind: 'cidr', text, first: first.value, length });
  }
  const parts = splitPair(text, '-');
  if (parts === undefined) {
    return fail(
      `host range "${text}": expected "start-end" (e.g. ::1000-::1999) or a CIDR (e.g. ::1000/116)`,
    );
  }
  const first = hostAddress(parts[0], text);
  if (!first.ok) return first;
  const last = hostAddress(parts[1], text);
  if (!last.ok) return last;
  if (toBigInt(first.value) > toBigInt(last.value)) {
    return fail(`host range "${text}": reversed range, ${parts[0].trim()} comes after ${parts[1].trim()}`);
  }
  return ok({ kind: 'range', text, first: first.value, last: last.value });
}

/** `::1000-::1999`, `::1000/116`, or a comma-separated list of them; ranges may not overlap. */
export function parseHostRanges(text: string): Result<HostRange[]> {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) return fail('host range: empty');
  const ranges: HostRange[] = [];
  for (const part of parts) {
    const parsed = parseOne(part);
    if (!parsed.ok) return parsed;
    ranges.push(parsed.value);
  }
  const spans = ranges.map((r) => ({ r, ...hostSpan(r) })).sort((a, b) => (a.first < b.first ? -1 : 1));
  for (let i = 1; i < spans.length; i++) {
    const [prev, next] = [spans[i - 1], spans[i]];
    if (prev !== undefined && next !== undefined && next.first <= prev.last) {
      return fail(`host range: "${prev.r.text}" and "${next.r.text}" overlap`);
    }
  }
  return ok(ranges);
}

/** First and last host value of a range, as integers. */
export function hostSpan(range: HostRange): { first: bigint; last: bigint } {
  const last = range.kind === 'range' ? range.last : lastOf(range.first, range.length);
  return { first: toBigInt(range.first), last: toBigInt(last) };
}
