// dns:<name>[@server[:port]]: the AAAA record of a name, e.g. the router's own DDNS name. Works
// from anywhere, including Lambda, since it does not depend on who asks.
import { agreeingAnswer } from './agreement.js';
import { SourceError, type PrefixSource } from './source.js';

export interface DnsSettings {
  timeoutMs: number;
  retries: number;
  delegatedLength: number;
}

const DNS_ERRORS: Record<string, string> = {
  ENODATA: 'has no AAAA record',
  ENOTFOUND: 'does not exist (NXDOMAIN)',
  ESERVFAIL: 'could not be resolved: the server answered SERVFAIL',
  EREFUSED: 'could not be resolved: the server refused the query',
  ETIMEOUT: 'could not be resolved: no answer in time',
  ECONNREFUSED: 'could not be resolved: the server is unreachable',
};

/** "192.0.2.53", "[2001:db8::53]:5353", "127.0.0.1:5353" → what Resolver.setServers takes. */
export function parseDnsServer(text: string): string | undefined {
  // Resolver.setServers takes these forms as they are; only "[v6]" without a port loses its brackets.
  const unportedV6 = /^\[([0-9a-fA-F:.]+)\]$/.exec(text)?.[1];
  if (unportedV6 !== undefined) return unportedV6;
  const valid = /^\[[0-9a-fA-F:.]+\]:\d{1,5}$|^[0-9.]+(:\d{1,5})?$|^[0-9a-fA-F]*:[0-9a-fA-F:]*$/.test(text);
  return valid ? text : undefined;
}

export function dnsSource(name: string, server: string | undefined, settings: DnsSettings): PrefixSource {
  const label = `dns:${name}${server === undefined ? '' : `@${server}`}`;
  return {
    name: label,
    async detect({ signal }) {
      // Loaded by the one source that resolves: every other run starts without it.
      const { Resolver } = await import('node:dns/promises');
      const resolver = new Resolver({ timeout: settings.timeoutMs, tries: settings.retries + 1 });
      if (server !== undefined) resolver.setServers([server]);
      const cancel = () => {
        resolver.cancel();
      };
      signal?.addEventListener('abort', cancel, { once: true });
      let records: string[];
      try {
        records = await resolver.resolve6(name);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        throw new SourceError(
          label,
          `${name} ${DNS_ERRORS[code] ?? `could not be resolved (${code || String(error)})`}`,
        );
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
      return agreeingAnswer(label, records, settings.delegatedLength);
    },
  };
}
