import { notGlobalUnicast, parseIPv6 } from '../prefix/ipv6.js';
import { excerpt, SourceError, type SourceAnswer } from './source.js';
import ipaddr from 'ipaddr.js';

/**
 * Turns what a source said into an answer, or says exactly why not: only a global unicast IPv6
 * address (optionally "/length") is usable — anything else would take every IPv6 service down.
 */
export function parseAnswer(source: string, text: string): SourceAnswer {
  const trimmed = text.trim();
  if (trimmed === '') throw new SourceError(source, 'empty answer');
  // Stryker disable next-line StringLiteral: a split has at least one part
  const [addressText = '', lengthText, ...extra] = trimmed.split('/');
  const address = parseIPv6(addressText);
  if (address === undefined) {
    const kind = ipaddr.IPv4.isValidFourPartDecimal(addressText) ? 'an IPv4 address' : 'not an IPv6 address';
    throw new SourceError(source, `answer ${excerpt(trimmed)} is ${kind}`);
  }
  let prefixLength: number | undefined;
  if (lengthText !== undefined) {
    prefixLength = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (extra.length > 0 || !(prefixLength >= 1 && prefixLength <= 128)) {
      throw new SourceError(source, `answer ${excerpt(trimmed)} has an invalid prefix length`);
    }
  }
  const why = notGlobalUnicast(address);
  if (why !== undefined) {
    throw new SourceError(source, `answer ${excerpt(trimmed)} is not a global unicast address: ${why}`);
  }
  return { source, address, raw: trimmed, ...(prefixLength === undefined ? {} : { prefixLength }) };
}
