import type { PrefixSource, SourceAnswer } from './source.js';

/** A fixed address or prefix: configured, or pushed by the router's DHCPv6-PD hook. */
export function staticSource(answer: SourceAnswer): PrefixSource {
  return { name: answer.source, detect: () => Promise.resolve(answer) };
}
