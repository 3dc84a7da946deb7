// The fetch ky calls: lib/http/node-exchange.ts, over Node's http and https modules, instead of
// Node's built-in fetch (see there why). ky still sees the standard Request and Response classes.
import http from 'node:http';
import https from 'node:https';
import { AnswerTooLarge, exchange } from '../http/node-exchange.js';
import { checkServerIdentity } from './server-identity.js';

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** An answer is an address; anything longer is refused while it is still arriving. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Of an error answer only the start is kept, for the message. */
const ERROR_BODY_BYTES = 512;

/** A failure that asking again cannot fix (a refused redirect, an oversized answer): never retried. */
export class PermanentFetchFailure extends Error {
  override name = 'PermanentFetchFailure';
}

// Keep-alive like fetch; HTTPS with the address-aware certificate check.
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true, checkServerIdentity });

/** What of an answer is read: a redirect's body not at all, an error page's start, a whole answer. */
const limitOf = (status: number) =>
  REDIRECT_STATUSES.has(status)
    ? { bytes: 0, over: 'cut' as const }
    : status >= 400
      ? { bytes: ERROR_BODY_BYTES, over: 'cut' as const }
      : { bytes: MAX_ANSWER_BYTES, over: 'fail' as const };

export async function fetchOverNodeHttp(...[input, init]: Parameters<typeof fetch>): Promise<Response> {
  // ky hands over a ready Request (and no further options); building another would cost as much again.
  const request =
    input instanceof Request && (init === undefined || Object.keys(init).length === 0)
      ? input
      : new Request(input, init);
  const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  let url = request.url;
  for (let redirects = 0; ; redirects++) {
    const answer = await exchange(
      url,
      {
        method: request.method,
        // Headers hold one value per name (repeated ones joined), so an object loses nothing.
        headers: Object.fromEntries(request.headers),
        ...(body === undefined ? {} : { body }),
        agent: url.startsWith('https:') ? httpsAgent : httpAgent,
        signal: request.signal,
      },
      limitOf,
    ).catch((error: unknown) => {
      throw standardFailure(request, error);
    });
    if (REDIRECT_STATUSES.has(answer.status)) {
      url = redirectTarget(url, answer.headers.location ?? null, redirects);
      continue;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one);
    }
    const hasBody = request.method !== 'HEAD' && !NULL_BODY_STATUSES.has(answer.status);
    return new Response(hasBody ? answer.body : null, {
      status: answer.status,
      statusText: answer.statusText,
      headers,
    });
  }
}

/** Where a redirect may lead: the same host, never from https to http, at most MAX_REDIRECTS times. */
export function redirectTarget(from: string, location: string | null, redirects: number): string {
  if (redirects >= MAX_REDIRECTS)
    throw new PermanentFetchFailure(`more than ${String(MAX_REDIRECTS)} redirects`);
  if (location === null) throw new PermanentFetchFailure(`redirect from ${from} without a Location`);
  const source = new URL(from);
  const target = new URL(location, from);
  const upgrade = source.protocol === 'http:' && target.protocol === 'https:';
  if (target.protocol !== source.protocol && !upgrade) {
    throw new PermanentFetchFailure(`refused redirect from ${source.protocol} to ${target.protocol}`);
  }
  if (target.host !== source.host && !(upgrade && target.hostname === source.hostname)) {
    throw new PermanentFetchFailure(`refused redirect from ${source.host} to another host, ${target.host}`);
  }
  return target.href;
}

/** What fetch itself rejects with: the abort reason, or TypeError("fetch failed") caused by the network error. */
function standardFailure(request: Request, error: unknown): unknown {
  if (request.signal.aborted) return request.signal.reason;
  if (error instanceof AnswerTooLarge) return new PermanentFetchFailure(error.message);
  return new TypeError('fetch failed', { cause: error });
}
