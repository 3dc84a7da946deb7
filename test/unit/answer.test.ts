// What a source (or the router's push) may answer: the table of every refused class and prefix
// length, and properties checked against an oracle built from the RFCs, not from the product.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { agreeingAnswer } from '../../lib/source/agreement.js';
import { parseAnswer } from '../../lib/source/answer.js';
import { excerpt, SourceError } from '../../lib/source/source.js';
import {
  answerCaseArb,
  formatGroups,
  globalGroupsArb,
  isGlobalUnicast,
  OUTSIDE_GLOBAL,
  SPECIAL_INSIDE_GLOBAL,
} from '../support/ipv6-oracle.js';

function refusal(text: string): string {
  try {
    parseAnswer('test', text);
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    return (error as SourceError).message;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('answer validation, by table', () => {
  it.each([
    ['2a02:8071:1234:5678::9', undefined],
    ['2a02:8071:1234::/48', 48],
    ['2a02:8071:1234:5600::/56', 56],
    ['2a02:8071:1234:5678::1/1', 1],
    ['2a02:8071:1234:5678::1/128', 128],
    ['  2a02:8071:1234:5678::9\n', undefined],
    ['2600::1', undefined],
    ['3ffe::1', undefined],
  ])('accepts %j (prefix length %s)', (text, length) => {
    const answer = parseAnswer('test', text);
    expect(answer.raw).toBe(text.trim());
    expect(answer.source).toBe('test');
    expect(answer.prefixLength).toBe(length);
    expect('prefixLength' in answer).toBe(length !== undefined);
    expect(answer.address.toString()).toBe(text.trim().split('/')[0]);
  });

  it.each([
    ['2a02:8071:1234:5678::1/0', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/129', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/999', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/1000', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/-1', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/64/64', 'invalid prefix length'],
    ['2a02:8071:1234:5678::1/x', 'invalid prefix length'],
    ['', 'empty answer'],
    [' \n', 'empty answer'],
    ['192.0.2.1', 'is an IPv4 address'],
    ['<html>', 'is not an IPv6 address'],
    ['2a02:8071:1234:5678::1%eth0', 'is not an IPv6 address'],
    ['::', 'the unspecified address'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local (fe80::/10)'],
    ['ff02::1', 'multicast (ff00::/8)'],
    ['fd00:1234::1', 'unique local (ULA, fc00::/7)'],
    ['::ffff:192.0.2.1', 'IPv4-mapped (::ffff:0:0/96)'],
    ['::ffff:0:c000:201', 'IPv4-translated (RFC 6145)'],
    ['64:ff9b::c000:201', 'NAT64 (64:ff9b::/96)'],
    ['2002:c000:201::1', '6to4 (2002::/16)'],
    ['2001:0:4136:e378::1', 'Teredo (2001::/32)'],
    ['2001:db8::1', 'documentation or IETF-reserved (e.g. 2001:db8::/32)'],
    ['3fff::1', 'documentation or IETF-reserved (e.g. 2001:db8::/32)'],
    ['2001:2::1', 'benchmarking (2001:2::/48)'],
    ['fec0::1', 'deprecated site-local (fec0::/10)'],
    ['100::1', 'discard-only (100::/64)'],
    ['2001:3::1', 'special-purpose range (amt)'],
    ['5f00::1', 'special-purpose range (segmentRouting)'],
    ['4000::1', 'outside the global unicast range 2000::/3'],
    ['1fff:ffff::1', 'outside the global unicast range 2000::/3'],
  ])('refuses %j: %s', (text, why) => {
    const message = refusal(text);
    expect(message).toContain(why);
    expect(message.startsWith('source test: answer ')).toBe(text.trim() !== '');
    if (text.trim() !== '') expect(message).toContain(excerpt(text.trim()));
  });

  it('quotes at most 60 bytes of a long answer, and names its length', () => {
    const message = refusal(`<html>${'x'.repeat(500)}`);
    expect(message).toBe(
      `source test: answer ${JSON.stringify(`<html>${'x'.repeat(54)}`)}… (506 bytes in all) is not an IPv6 address`,
    );
  });

  it('never splits a character of a long answer', () => {
    // '€' is 3 bytes: the 59 before it leave no room.
    expect(refusal(`${'x'.repeat(59)}€${'x'.repeat(100)}`)).toBe(
      `source test: answer ${JSON.stringify('x'.repeat(59))}… (162 bytes in all) is not an IPv6 address`,
    );
  });

  it('names every special block inside 2000::/3 as refused', () => {
    for (const b of [...SPECIAL_INSIDE_GLOBAL, ...OUTSIDE_GLOBAL]) {
      expect(refusal(formatGroups(b.groups, true))).toMatch(/is not a global unicast address/);
    }
  });
});

describe('answer validation, by property (oracle from the RFCs)', () => {
  it('accepts exactly what the oracle calls a global unicast answer, and reads it faithfully', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(answerCaseArb, (c) => {
        let answer;
        try {
          answer = parseAnswer('fuzz', c.text);
        } catch (error) {
          expect(error).toBeInstanceOf(SourceError);
          expect(c.valid).toBe(false);
          refused++;
          return;
        }
        expect(c.valid).toBe(true);
        accepted++;
        expect(answer.address.parts).toEqual(c.groups);
        expect(answer.prefixLength).toBe(c.prefixLength);
      }),
      { numRuns: 1000 },
    );
    // Both sides of the oracle were exercised, so neither "refuse all" nor "accept all" passes.
    expect(accepted).toBeGreaterThan(30);
    expect(refused).toBeGreaterThan(100);
  });

  it('accepts every global unicast address in both notations', () => {
    fc.assert(
      fc.property(globalGroupsArb, fc.boolean(), (groups, compressed) => {
        expect(isGlobalUnicast(groups)).toBe(true);
        expect(parseAnswer('fuzz', formatGroups(groups, compressed)).address.parts).toEqual(groups);
      }),
      { numRuns: 300 },
    );
  });
});

describe('several addresses from one source', () => {
  it('agree when they share the delegated prefix, and give the first', () => {
    const answer = agreeingAnswer('dns:x', ['2a02:8071:1234:5601::1', '2a02:8071:1234:56ff::2'], 56);
    expect(answer.address.toString()).toBe('2a02:8071:1234:5601::1');
    expect(answer.source).toBe('dns:x');
  });

  it.each([
    [[], 'no address'],
    [['2a02:8071:1234:5601::1', '2a02:8071:1234:5700::1'], 'disagree on the /56 prefix'],
    [['2a02:8071:1234:5601::1', 'fd00::1'], 'not a global unicast address'],
  ])('refuse %j: %s', (addresses, why) => {
    expect(() => agreeingAnswer('dns:x', addresses, 56)).toThrow(why);
  });

  it('compare at exactly the delegated length', () => {
    const pair = ['2a02:8071:1234:5600::1', '2a02:8071:1234:5601::1'];
    expect(() => agreeingAnswer('s', pair, 63)).not.toThrow();
    expect(() => agreeingAnswer('s', pair, 64)).toThrow('disagree on the /64 prefix');
  });
});
