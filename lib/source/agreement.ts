import { networkOf } from '../prefix/ipv6.js';
import { excerpt } from '../text/excerpt.js';
import { parseAnswer } from './answer.js';
import { SourceError, type SourceAnswer } from './source.js';

/**
 * Several addresses from one source (AAAA records, interface addresses) must all be valid and lie
 * in one delegated prefix; otherwise the source cannot say which prefix is ours.
 */
export function agreeingAnswer(
  source: string,
  addresses: readonly string[],
  delegatedLength: number,
): SourceAnswer {
  const answers = addresses.map((a) => parseAnswer(source, a));
  const prefixes = new Set(answers.map((a) => networkOf(a.address, delegatedLength).toString()));
  if (prefixes.size > 1) {
    // A DNS answer or a cluster's nodes may list thousands of addresses: the message quotes the start.
    throw new SourceError(
      source,
      `addresses disagree on the /${String(delegatedLength)} prefix: ${excerpt(addresses.join(', '))}`,
    );
  }
  const [first] = answers;
  if (first === undefined) throw new SourceError(source, 'no address');
  return first;
}
