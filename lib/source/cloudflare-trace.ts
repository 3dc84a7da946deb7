import { parseAnswer } from './answer.js';
import { getText, type HttpSettings } from './http.js';
import { SourceError, type PrefixSource } from './source.js';

/** Cloudflare's trace endpoint over IPv6: a key=value page whose `ip=` line is the caller's address. */
export const CLOUDFLARE_TRACE_URL = 'https://[2606:4700:4700::1111]/cdn-cgi/trace';

export function cloudflareTraceSource(url: string, http: HttpSettings): PrefixSource {
  const name = 'cloudflare-trace';
  return {
    name,
    async detect({ signal }) {
      const text = await getText(name, url, http, signal, 'text/plain');
      const line = text.split('\n').find((l) => l.startsWith('ip='));
      if (line === undefined)
        throw new SourceError(name, 'answer has no "ip=" line (not a /cdn-cgi/trace page?)');
      return parseAnswer(name, line.slice(3));
    },
  };
}
