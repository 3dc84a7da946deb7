// Sources made of sources: a fallback chain, an agreement of several, a containment check.
import ipaddr from 'ipaddr.js';
import { networkOf, type IPv6 } from '../prefix/ipv6.js';
import { SourceError, type Evidence, type PrefixSource, type SourceAnswer } from './source.js';
import { errorText } from '../errors/error-text.js';

const reason = (error: unknown) => (error instanceof SourceError ? error.reason : errorText(error));
const said = (a: SourceAnswer): Evidence => ({ source: a.source, answer: a.raw });

/** first(a, b, c): the first source that answers validly, asked one after another. */
export function firstSource(sources: readonly PrefixSource[]): PrefixSource {
  const name = `first(${sources.map((s) => s.name).join(', ')})`;
  return {
    name,
    async detect(context) {
      const failures: { source: string; error: string }[] = [];
      for (const source of sources) {
        try {
          const answer = await source.detect(context);
          return { ...answer, evidence: [...failures, ...(answer.evidence ?? [said(answer)])] };
        } catch (error) {
          if (context.signal?.aborted === true) throw error;
          failures.push({ source: source.name, error: reason(error) });
        }
      }
      throw new SourceError(
        name,
        `no source answered: ${failures.map((e) => `${e.source}: ${e.error}`).join('; ')}`,
      );
    },
  };
}

/** quorum(k; a, b, c): asks all at once; at least k must agree on the delegated prefix. */
export function quorumSource(
  k: number,
  sources: readonly PrefixSource[],
  delegatedLength: number,
): PrefixSource {
  const name = `quorum(${String(k)}; ${sources.map((s) => s.name).join(', ')})`;
  return {
    name,
    async detect(context) {
      const outcomes = await Promise.all(
        sources.map((s) =>
          s.detect(context).then(
            (answer) => ({ answer, evidence: said(answer) }),
            (error: unknown) => ({ answer: undefined, evidence: { source: s.name, error: reason(error) } }),
          ),
        ),
      );
      const evidence: Evidence[] = outcomes.map((o) => o.evidence);
      const groups = new Map<string, SourceAnswer[]>();
      for (const { answer } of outcomes) {
        if (answer === undefined) continue;
        const key = networkOf(
          answer.address,
          Math.min(answer.prefixLength ?? 128, delegatedLength),
        ).toString();
        groups.set(key, [...(groups.get(key) ?? []), answer]);
      }
      // Listed order breaks ties, so the same answers always give the same result.
      const best = [...groups.values()].sort((a, b) => b.length - a.length)[0] ?? [];
      const [winner] = best;
      // Stryker disable next-line ConditionalExpression: k >= 1, so an empty group already fails the count
      if (winner === undefined || best.length < k) {
        const summary = evidence
          .map(
            (e) => `${e.source} ${e.error === undefined ? `said ${String(e.answer)}` : `failed: ${e.error}`}`,
          )
          .join('; ');
        throw new SourceError(
          name,
          `only ${String(best.length)} of ${String(sources.length)} agree, ${String(k)} needed: ${summary}`,
        );
      }
      return { ...winner, evidence };
    },
  };
}

/** within(2a02:8070::/29; source): refuses any answer outside the ISP's allocation. */
export function withinSource(range: [IPv6, number], source: PrefixSource): PrefixSource {
  const cidr = `${range[0].toString()}/${String(range[1])}`;
  const name = `within(${cidr}; ${source.name})`;
  return {
    name,
    async detect(context) {
      const answer = await source.detect(context);
      const { alternatives = [], ...primary } = answer;
      const [first, ...others] = [primary, ...alternatives].filter((a) => a.address.match(range));
      if (first === undefined) {
        throw new SourceError(name, `${answer.source} answered ${answer.raw}, outside the expected ${cidr}`);
      }
      return others.length === 0 ? first : { ...first, alternatives: others };
    },
  };
}

export function parseCidr(text: string): [IPv6, number] | undefined {
  try {
    const [address, length] = ipaddr.IPv6.parseCIDR(text.trim());
    return [address, length];
    // Stryker disable next-line BlockStatement: an empty catch returns undefined as well
  } catch {
    return undefined;
  }
}
