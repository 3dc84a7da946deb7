// The parsers the option table is built from. Each answers with the value, or with what is wrong
// worded to follow "<option>: ", so that every refused option reads the same way.
import { fail, ok, type Result } from '../errors/result.js';

/** An option's text to its value, or the problem with it. */
export type Parse<T> = (text: string) => Result<T>;

/**
 * The longest duration any option takes. Node's timers hold at most 2^31 - 1 ms (24.8 days) and fire
 * at once beyond it: a week for each keeps the derived deadline (detect + 2 × reload + 60 s) under it.
 */
export const MAX_DURATION_HOURS = 168;

/** For options whose text is checked later, together with other options (or outside lib/config). */
export const asGiven: Parse<string> = (text) => ok(text);

/** Refuses what `parse` does not take with `"<text>" is not <expected>`. */
export function expecting<T>(expected: string, parse: (text: string) => T | undefined): Parse<T> {
  return (text) => {
    const value = parse(text);
    return value === undefined ? fail(`"${text}" is not ${expected}`) : ok(value);
  };
}

/** Seconds as "90", "90s", "5m" or "1h" → milliseconds. */
export function parseSeconds(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  const factor = { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * factor * 1000);
}

// How a refusal names each lower bound a duration option has.
const DURATION_FLOORS = {
  0: 'a duration of',
  1: 'a positive duration of',
  1000: 'a duration of at least 1 second and',
} as const;

/** A duration of at least `minMs` and at most MAX_DURATION_HOURS, in milliseconds. */
export function duration(minMs: keyof typeof DURATION_FLOORS): Parse<number> {
  return expecting(`${DURATION_FLOORS[minMs]} at most ${String(MAX_DURATION_HOURS)}h`, (text) => {
    const ms = parseSeconds(text);
    // Stryker disable next-line ConditionalExpression: undefined fails both comparisons anyway
    return ms === undefined || ms < minMs || ms > MAX_DURATION_HOURS * 3_600_000 ? undefined : ms;
  });
}

export function parseBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off', ''].includes(t)) return false;
  return undefined;
}

/** One of `words`, named in a refusal as "a, b or c". */
export function oneOf<T extends string>(words: readonly T[]): Parse<T> {
  const named = `${words.slice(0, -1).join(', ')} or ${String(words.at(-1))}`;
  return expecting(named, (text) => words.find((word) => word === text));
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A name the API server would accept: it matches `pattern` and is at most `maxLength` long. */
export function kubernetesName(pattern: RegExp, maxLength: number, expected: string): Parse<string> {
  return expecting(expected, (text) => (pattern.test(text) && text.length <= maxLength ? text : undefined));
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Checks a label selector's syntax: equality and set-based terms, as kubectl accepts them. */
function selectorProblem(selector: string): string | undefined {
  // Stryker disable next-line ArrayDeclaration: the pattern matches any selector the check below passes
  const terms = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  if (selector.trim() === '' || terms.join(',') !== selector) return 'empty or malformed';
  for (const term of terms.map((t) => t.trim())) {
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    const set = /^([^\s]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    const exists = /^!?([^\s=!()]+)$/.exec(term);
    // Stryker disable StringLiteral: a group of a pattern that matched is never undefined
    const ok =
      (eq !== null && LABEL_KEY.test(eq[1] ?? '') && LABEL_VALUE.test(eq[3] ?? '')) ||
      (set !== null &&
        LABEL_KEY.test(set[1] ?? '') &&
        (set[3] ?? '').split(',').every((v) => LABEL_VALUE.test(v.trim()))) ||
      (exists !== null && LABEL_KEY.test(exists[1] ?? ''));
    // Stryker restore StringLiteral
    if (!ok) return `bad term "${term}"`;
  }
  return undefined;
}

/** A label selector; a refusal quotes the whole selector after the term at fault. */
export const labelSelector: Parse<string> = (text) => {
  const problem = selectorProblem(text);
  return problem === undefined ? ok(text) : fail(`${problem} in "${text}"`);
};
