// Pool entries as MetalLB reads spec.addresses: what parses, to which first and last address, and
// what overlaps what.
import { describe, expect, it } from '@jest/globals';
import { overlaps, parsePoolEntry } from '../../lib/plan/pool-entry.js';
import { splitPair } from '../../lib/text/split-pair.js';

function entry(text: string) {
  const parsed = parsePoolEntry(text);
  if (parsed === undefined) throw new Error(`"${text}" did not parse`);
  return parsed;
}

describe('pool entries', () => {
  it.each([
    ['192.168.178.240/28', 'ipv4', 'cidr', '192.168.178.240', '192.168.178.255'],
    ['192.168.178.241/28', 'ipv4', 'cidr', '192.168.178.240', '192.168.178.255'],
    ['10.0.0.1/32', 'ipv4', 'cidr', '10.0.0.1', '10.0.0.1'],
    ['0.0.0.0/0', 'ipv4', 'cidr', '0.0.0.0', '255.255.255.255'],
    ['10.0.0.1 / 32', 'ipv4', 'cidr', '10.0.0.1', '10.0.0.1'],
    [
      '2a02:8071:1234:5600::1000/116',
      'ipv6',
      'cidr',
      '2a02:8071:1234:5600::1000',
      '2a02:8071:1234:5600::1fff',
    ],
    ['2a02::1/128', 'ipv6', 'cidr', '2a02::1', '2a02::1'],
    ['fd00::/8', 'ipv6', 'cidr', 'fd00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['10.0.0.1-10.0.0.9', 'ipv4', 'range', '10.0.0.1', '10.0.0.9'],
    ['10.0.0.1 - 10.0.0.1', 'ipv4', 'range', '10.0.0.1', '10.0.0.1'],
    ['2a02::1000-2a02::1999', 'ipv6', 'range', '2a02::1000', '2a02::1999'],
    ['2a02::1000 - 2a02::1999', 'ipv6', 'range', '2a02::1000', '2a02::1999'],
  ])('%s is %s %s from %s to %s', (text, family, form, first, last) => {
    const e = entry(text);
    expect({
      text: e.text,
      family: e.family,
      form: e.form,
      first: e.first.toString(),
      last: e.last.toString(),
    }).toEqual({
      text,
      family,
      form,
      first,
      last,
    });
  });

  it.each([
    ['10.0.0.0/33', 'IPv4 length over 32'],
    ['2a02::/129', 'IPv6 length over 128'],
    ['10.0.0.0/x', 'length not a number'],
    ['10.0.0.0/-1', 'negative length'],
    ['10.0.0.0/24x', 'length with a suffix'],
    ['10.0.0.0/', 'no length'],
    ['/24', 'no address'],
    ['10.0.0.0/24/24', 'two lengths'],
    ['10.0.0.0/24-10.0.1.0/24', 'a range of CIDRs'],
    ['10.0.0.9-10.0.0.1', 'reversed range'],
    ['10.0.0.1-2a02::1', 'families mixed'],
    ['2a02::1-10.0.0.1', 'families mixed the other way'],
    ['10.0.0.1-10.0.0.2-10.0.0.3', 'three addresses'],
    ['10.0.0.1', 'a single address'],
    ['10.0.0.1-', 'no end'],
    ['-10.0.0.1', 'no start'],
    ['fe80::1%eth0/64', 'zone id'],
    ['fe80::1%eth0-fe80::2', 'zone id in a range'],
    ['010.0.0.1/32', 'octal-looking IPv4'],
    ['10.1/16', 'short IPv4'],
    ['2a02::g/64', 'not hex'],
    ['', 'empty'],
  ])('%s is refused (%s)', (text) => {
    expect(parsePoolEntry(text)).toBeUndefined();
  });

  it.each([
    ['10.0.0.0/24', '10.0.0.255-10.0.1.0', true],
    ['10.0.0.0/24', '10.0.1.0-10.0.1.9', false],
    ['10.0.1.0-10.0.1.9', '10.0.0.0/24', false],
    ['2a02::1000-2a02::1999', '2a02::1999/128', true],
    ['2a02::1999/128', '2a02::1000-2a02::1999', true],
    ['2a02::1000-2a02::1999', '2a02::199a-2a02::2000', false],
    ['2a02::1000-2a02::1999', '2a02::f00-2a02::fff', false],
    ['2a02::1000-2a02::1999', '2a02::/16', true],
    ['::a00:0/120', '10.0.0.0/24', false],
    ['10.0.0.0/24', '::a00:0/120', false],
  ])('%s and %s overlap: %s', (a, b, expected) => {
    expect(overlaps(entry(a), entry(b))).toBe(expected);
  });
});

describe('splitting at one separator', () => {
  it.each([
    ['a-b', ['a', 'b']],
    ['-b', ['', 'b']],
    ['a-', ['a', '']],
    ['ab', undefined],
    ['a-b-c', undefined],
    ['a--b', undefined],
  ])('%j is %j', (text, parts) => {
    expect(splitPair(text, '-')).toEqual(parts);
  });
});
