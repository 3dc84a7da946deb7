import { describe, expect, it } from '@jest/globals';
import { parseHostRanges } from '../../lib/prefix/host-range.js';
import { notGlobalUnicast, parseIPv6 } from '../../lib/prefix/ipv6.js';
import {
  checkAnswerLength,
  desiredEntries,
  parseSubnetOverride,
  subnetFor,
  type PrefixPolicy,
} from '../../lib/prefix/subnet.js';

function hosts(text: string) {
  const parsed = parseHostRanges(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function address(text: string) {
  const a = parseIPv6(text);
  if (a === undefined) throw new Error(text);
  return a;
}

function override(bits: string, keep: string) {
  const parsed = parseSubnetOverride(bits, keep);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('host ranges', () => {
  it('accepts a range, a CIDR host part and a comma list of both', () => {
    expect(hosts('::1000-::1999').map((h) => h.kind)).toEqual(['range']);
    expect(hosts('::1000/116').map((h) => h.kind)).toEqual(['cidr']);
    expect(hosts(' ::1000-::1999 , ::a:0/112 ').map((h) => h.text)).toEqual(['::1000-::1999', '::a:0/112']);
  });

  it.each([
    ['2a02::1000-::1999', /"2a02::1000" has prefix bits set/],
    ['::1:0:0:0:1000-::1999', /prefix bits set/],
    ['::1999-::1000', /reversed range/],
    ['', /empty/],
    ['::1000-::1999,', /empty entry/],
    ['10.0.0.1-10.0.0.9', /"10.0.0.1" is not an IPv6 address/],
    ['::1000', /expected "start-end"/],
    ['::1000/60', /prefix length must be 64..128/],
    ['::1001/116', /not the start of a \/116 block/],
    ['::1000-::1999,::1500-::2000', /overlap/],
  ])('refuses %p naming the bad value', (text, message) => {
    const parsed = parseHostRanges(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('answers too short to be a delegation', () => {
  const unconfigured: PrefixPolicy = { delegatedLength: 64, shortestAnswer: 48 };
  it.each([
    ['2000::/3', 3],
    ['2a02::/16', 16],
    ['2a02:8070::/29', 29],
    ['2a02:8071::/47', 47],
  ])('refuses %s unless configured, naming the setting', (raw, length) => {
    const checked = checkAnswerLength(raw, length, unconfigured);
    expect(checked).toEqual({
      ok: false,
      error: `answer ${raw} is a /${String(length)}, shorter than a prefix delegated to you can be (/48 at most); if your delegation really is that large, set --delegated-length / METALLB_DYN6_DELEGATED_PREFIX_LENGTH to ${String(length)}`,
    });
  });
  it.each([
    ['2a02:8071:1234::/48', 48],
    ['2a02:8071:1234:5600::/56', 56],
    ['2a02:8071:1234:5678::/64', 64],
    ['2a02:8071:1234:5678::9', undefined],
  ])('accepts %s', (raw, length) => {
    expect(checkAnswerLength(raw, length, unconfigured)).toEqual({ ok: true, value: undefined });
  });
  it('takes a configured delegation as the shortest answer, either way', () => {
    expect(checkAnswerLength('2a02:8070::/32', 32, { delegatedLength: 32, shortestAnswer: 32 }).ok).toBe(
      true,
    );
    expect(checkAnswerLength('2a02:8071:1234::/48', 48, { delegatedLength: 56, shortestAnswer: 56 }).ok).toBe(
      false,
    );
  });
});

describe('subnet and desired range', () => {
  const none: PrefixPolicy = { delegatedLength: 64, shortestAnswer: 48 };

  it('applies the subnet override exactly as the Rust tool did (issue example)', () => {
    const policy: PrefixPolicy = {
      delegatedLength: 64,
      shortestAnswer: 48,
      override: override('0:0:0:cd::', '56'),
    };
    const subnet = subnetFor(address('2a02:8071:1234:5678::9'), undefined, policy);
    expect(subnet.toString()).toBe('2a02:8071:1234:56cd::');
    expect(desiredEntries(subnet, hosts('::1000-::1999'))).toEqual([
      '2a02:8071:1234:56cd::1000-2a02:8071:1234:56cd::1999',
    ]);
  });

  it('uses the /64 the answer is in when nothing else is said', () => {
    const subnet = subnetFor(address('2a02:8071:1234:5678:aaaa:bbbb:cccc:dddd'), undefined, none);
    expect(desiredEntries(subnet, hosts('::1000/116,::a:0-::a:ff'))).toEqual([
      '2a02:8071:1234:5678::1000/116',
      '2a02:8071:1234:5678::a:0-2a02:8071:1234:5678::a:ff',
    ]);
  });

  it('takes the network at the delegated length, or at the shorter length the answer carries', () => {
    expect(
      subnetFor(address('2a02:8071:1234:5678::9'), undefined, {
        delegatedLength: 56,
        shortestAnswer: 56,
      }).toString(),
    ).toBe('2a02:8071:1234:5600::');
    expect(subnetFor(address('2a02:8071:1234:5678::'), 48, none).toString()).toBe('2a02:8071:1234::');
    const policy: PrefixPolicy = {
      delegatedLength: 48,
      shortestAnswer: 48,
      override: override('0:0:0:cd::', '48'),
    };
    expect(subnetFor(address('2a02:8071:1234::'), 48, policy).toString()).toBe('2a02:8071:1234:cd::');
  });

  it.each([
    ['0:0:0:cd::', '0', /1 to 63/],
    ['0:0:0:cd::', '64', /1 to 63/],
    ['0:0:0:cd::', 'x', /1 to 63/],
    ['0:0:1:cd::', '56', /may only set bits 57 to 64/],
    ['0:0:0:cd::1', '56', /may only set bits 57 to 64/],
    ['cd', '56', /not an IPv6 address/],
  ])('refuses override %p at %p', (bits, keep, message) => {
    const parsed = parseSubnetOverride(bits, keep);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('global unicast check', () => {
  it.each(['2a02:8071:1234:5678::9', '2001:4860:4860::8888', '2600:1f18::1', '3ffe:ffff::1'])(
    'accepts %s',
    (a) => {
      expect(notGlobalUnicast(address(a))).toBeUndefined();
    },
  );

  it.each([
    ['::ffff:192.0.2.1', /IPv4-mapped/],
    ['fd00:1234::1', /unique local/],
    ['fe80::1', /link-local/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['ff02::1', /multicast/],
    ['2001:db8:aaaa::1', /documentation/],
    ['2002:c000:0201::1', /6to4/],
    ['2001:0:4136:e378::1', /Teredo/],
    ['64:ff9b::c000:201', /NAT64/],
    ['4000::1', /2000::\/3/],
  ])('refuses %s', (a, reason) => {
    expect(notGlobalUnicast(address(a))).toMatch(reason);
  });
});
