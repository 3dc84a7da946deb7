import { parseAnswer } from './answer.js';
import { getText, parseJson, type HttpSettings } from './http.js';
import { SourceError, type PrefixSource } from './source.js';

/**
 * Any HTTP(S) endpoint: a plain-text answer, or with "#field.path" a JSON answer and the field to
 * read (the fragment never leaves this process, so it cannot confuse the server).
 */
export function urlSource(spec: string, http: HttpSettings): PrefixSource {
  const hash = spec.indexOf('#');
  const url = hash === -1 ? spec : spec.slice(0, hash);
  const field = hash === -1 ? undefined : spec.slice(hash + 1);
  const name = `url:${url}`;
  return {
    name,
    async detect({ signal }) {
      const text = await getText(name, url, http, signal);
      if (field === undefined) return parseAnswer(name, text);
      let value: unknown = parseJson(name, text);
      for (const key of field.split('.')) {
        value =
          typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      }
      if (typeof value !== 'string') throw new SourceError(name, `JSON answer has no string at "${field}"`);
      return parseAnswer(name, value);
    },
  };
}

/** Only absolute http(s) URLs are sources. */
export function validUrl(spec: string): boolean {
  try {
    const url = new URL(spec.split('#')[0] ?? '');
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
