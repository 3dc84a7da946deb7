import type { Parsed } from '../prefix/host-range.js';
import type { HttpSettings } from './http.js';
import { myIpSource } from './my-ip.js';
import { SourceError, type PrefixSource } from './source.js';
import { parseStatic, staticSource } from './static.js';
import { urlSource, validUrl } from './url.js';

export interface SourceSettings extends HttpSettings {
  myIpUrl: string;
}

/** Builds a source from its spec without touching the network, or says what is wrong with the spec. */
export function parseSource(spec: string, settings: SourceSettings): Parsed<PrefixSource> {
  const colon = spec.indexOf(':');
  const kind = colon === -1 ? spec : spec.slice(0, colon);
  const arg = colon === -1 ? '' : spec.slice(colon + 1);
  switch (kind) {
    case 'my-ip':
      if (arg !== '')
        return { ok: false, error: `source "${spec}": my-ip takes no argument (set --my-ip-url)` };
      if (!validUrl(settings.myIpUrl))
        return { ok: false, error: `my-ip URL "${settings.myIpUrl}" is not an http(s) URL` };
      return { ok: true, value: myIpSource(settings.myIpUrl, settings) };
    case 'url':
      if (!validUrl(arg))
        return { ok: false, error: `source "${spec}": expected url:<http(s) URL>[#json.field]` };
      return { ok: true, value: urlSource(arg, settings) };
    case 'static':
      try {
        return { ok: true, value: staticSource(parseStatic('static', arg)) };
      } catch (error) {
        return { ok: false, error: error instanceof SourceError ? error.message : String(error) };
      }
    default:
      return {
        ok: false,
        error: `source "${spec}": unknown kind "${kind}" (my-ip, url:<URL>, static:<prefix>)`,
      };
  }
}
