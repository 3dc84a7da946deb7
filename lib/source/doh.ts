// doh:<name>[@<endpoint URL>]: the AAAA record through a DNS-over-HTTPS JSON API
// (application/dns-json, as Cloudflare and Google serve it).
import { agreeingAnswer } from './agreement.js';
import { getText, parseJson, type HttpSettings } from './http.js';
import { SourceError, type PrefixSource } from './source.js';

export const DEFAULT_DOH_ENDPOINT = 'https://cloudflare-dns.com/dns-query';
const AAAA = 28;
const RCODES: Record<number, string> = { 2: 'SERVFAIL', 3: 'NXDOMAIN (does not exist)', 5: 'REFUSED' };

interface DnsJson {
  Status?: unknown;
  Answer?: { name?: unknown; type?: unknown; data?: unknown }[];
}

export function dohSource(
  name: string,
  endpoint: string,
  http: HttpSettings,
  delegatedLength: number,
): PrefixSource {
  const label = `doh:${name}`;
  return {
    name: label,
    async detect({ signal }) {
      const url = new URL(endpoint);
      url.searchParams.set('name', name);
      url.searchParams.set('type', 'AAAA');
      const parsed = parseJson(
        label,
        await getText(label, url.toString(), http, signal, 'application/dns-json'),
      );
      const body = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as DnsJson;
      if (typeof body.Status !== 'number') {
        throw new SourceError(label, 'answer is not a DNS JSON response');
      }
      if (body.Status !== 0)
        throw new SourceError(label, `${name}: ${RCODES[body.Status] ?? `DNS error ${String(body.Status)}`}`);
      const records = (body.Answer ?? []).filter((a) => a.type === AAAA).map((a) => String(a.data));
      if (records.length === 0) throw new SourceError(label, `${name} has no AAAA record`);
      return agreeingAnswer(label, records, delegatedLength);
    },
  };
}
