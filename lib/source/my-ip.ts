import { excerpt } from '../text/excerpt.js';
import { parseAnswer } from './answer.js';
import { getText, parseJson, type HttpSettings } from './http.js';
import { SourceError, type PrefixSource } from './source.js';

/** api6.my-ip.io: {"success":true,"ip":"2a02:…","type":"IPv6"}, the address the request came from. */
export function myIpSource(url: string, http: HttpSettings): PrefixSource {
  const name = 'my-ip';
  return {
    name,
    async detect({ signal }) {
      const body = parseJson(name, await getText(name, url, http, signal));
      if (typeof body !== 'object' || body === null)
        throw new SourceError(name, 'answer is not a JSON object');
      const { success, ip, type } = body as Record<string, unknown>;
      if (success !== true)
        throw new SourceError(name, `service reported failure: ${excerpt(JSON.stringify(body), 120)}`);
      if (typeof ip !== 'string') throw new SourceError(name, 'answer has no "ip" string');
      if (type !== undefined && type !== 'IPv6') {
        throw new SourceError(
          name,
          `service saw an ${excerpt(typeof type === 'string' ? type : JSON.stringify(type), 60)} client (${excerpt(ip, 60)}); is this host reachable over IPv6?`,
        );
      }
      return parseAnswer(name, ip);
    },
  };
}
