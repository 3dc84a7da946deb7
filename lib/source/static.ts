import { parseAnswer } from './answer.js';
import type { PrefixSource, SourceAnswer } from './source.js';

/** A fixed address or prefix: configured, or pushed by the router's DHCPv6-PD hook. */
export function staticSource(answer: SourceAnswer): PrefixSource {
  return { name: answer.source, detect: () => Promise.resolve(answer) };
}

/** Validates the value up front, so a bad static prefix is a configuration error, not a failed run. */
export function parseStatic(name: string, value: string): SourceAnswer {
  return parseAnswer(name, value);
}
