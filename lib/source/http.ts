import { quotedExcerpt } from '../text/excerpt.js';
import { excerpt, SourceError } from './source.js';

export interface HttpSettings {
  timeoutMs: number;
  retries: number;
}

const DEFAULT_ACCEPT = 'application/json, text/plain;q=0.9, */*;q=0.1';

/**
 * GETs a small text answer with a per-request timeout and bounded, backed-off retries on network
 * errors and 5xx/429. Every failure becomes a SourceError naming the source.
 */
export async function getText(
  source: string,
  url: string,
  http: HttpSettings,
  signal?: AbortSignal,
  accept = DEFAULT_ACCEPT,
): Promise<string> {
  // Loaded on first use: ky loads Node's web classes (Request, Response, Headers: all of undici's
  // JavaScript), ~10 ms and ~8 MB that a run with a DNS, interface, node or static source never needs.
  const [{ default: ky, HTTPError, TimeoutError }, { fetchOverNodeHttp, PermanentFetchFailure }] =
    await Promise.all([import('ky'), import('./node-http-fetch.js')]);
  try {
    const response = await ky.get(url, {
      timeout: http.timeoutMs,
      retry: {
        limit: http.retries,
        methods: ['get'],
        backoffLimit: 2000,
        shouldRetry: ({ error }) => (error instanceof PermanentFetchFailure ? false : undefined),
      },
      headers: { accept, 'user-agent': 'metallb-dyn6' },
      fetch: fetchOverNodeHttp,
      ...(signal === undefined ? {} : { signal }),
    });
    return await response.text();
  } catch (error) {
    if (error instanceof PermanentFetchFailure) throw new SourceError(source, `${url}: ${error.message}`);
    if (error instanceof TimeoutError) {
      throw new SourceError(source, `no answer from ${url} within ${String(http.timeoutMs)} ms`);
    }
    if (error instanceof HTTPError) {
      // node-http-fetch.ts reads only the page's first 512 bytes: this quotes what it read.
      const body = await error.response.text().catch(() => '');
      throw new SourceError(
        source,
        `${url} answered HTTP ${String(error.response.status)} ${quotedExcerpt(body)}`,
      );
    }
    throw new SourceError(source, `request to ${url} failed (${failureText(error)})`);
  }
}

/** Parses JSON or says which source sent something else. */
export function parseJson(source: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SourceError(source, `answer is not JSON: ${excerpt(text.trim())}`);
  }
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:9": the error and the network cause behind it. */
function failureText(error: unknown): string {
  const text = (e: unknown) =>
    typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string'
      ? e.message
      : String(e);
  const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : undefined;
  return cause === undefined ? text(error) : `${text(error)}: ${text(cause)}`;
}
