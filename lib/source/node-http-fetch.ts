// The fetch ky calls: node-fetch, over Node's http and https modules, instead of Node's built-in
// fetch (undici). undici parses HTTP in WebAssembly, and compiling that costs a cold sync ~200 ms and
// ~30 MB, more than all the rest of the run; a small GET needs nothing it adds. ky still sees the
// standard Request and Response classes.
import http from 'node:http';
import https from 'node:https';
import nodeFetch, { FetchError, type RequestInit as NodeFetchInit } from 'node-fetch';
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

// Keep-alive like fetch (without an agent node-fetch sends "Connection: close", and every request
// would pay a new connection and its teardown); HTTPS with the address-aware certificate check.
const httpsAgent = new https.Agent({ keepAlive: true, checkServerIdentity });

export async function fetchOverNodeHttp(...[input, init]: Parameters<typeof fetch>): Promise<Response> {
  // ky hands over a ready Request (and no further options); building another would cost as much again.
  const request =
    input instanceof Request && (init === undefined || Object.keys(init).length === 0)
      ? input
      : new Request(input, init);
  const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  let url = request.url;
  for (let redirects = 0; ; redirects++) {
    const response = await nodeFetch(url, {
      method: request.method,
      headers: [...request.headers],
      ...(body === undefined ? {} : { body }),
      redirect: 'manual',
      size: MAX_ANSWER_BYTES,
      agent: (u) => (u.protocol === 'https:' ? httpsAgent : http.globalAgent),
      // The same AbortSignal; @types/node-fetch only describes it with an older DOM typing.
      signal: request.signal as NonNullable<NodeFetchInit['signal']>,
    }).catch((error: unknown) => {
      throw standardFailure(request, error);
    });
    if (REDIRECT_STATUSES.has(response.status)) {
      response.body.resume();
      url = redirectTarget(url, response.headers.get('location'), redirects);
      continue;
    }
    const headers = new Headers();
    for (const [name, values] of Object.entries(response.headers.raw())) {
      for (const value of values) headers.append(name, value);
    }
    const hasBody = request.method !== 'HEAD' && !NULL_BODY_STATUSES.has(response.status);
    // Answers are small: reading the body here is cheaper than adapting Node's stream to a web stream.
    const content = !hasBody
      ? null
      : response.status >= 400
        ? await firstBytes(response.body, ERROR_BODY_BYTES)
        : await response.buffer().catch((error: unknown) => {
            // node-fetch stops keeping an oversized answer, but would go on receiving it.
            (response.body as unknown as { destroy(): void }).destroy();
            throw standardFailure(request, error);
          });
    return new Response(content, { status: response.status, statusText: response.statusText, headers });
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

/** Reads at most `limit` bytes, then drops the connection's rest unread. */
async function firstBytes(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(Buffer.from(chunk as Buffer));
      size += (chunk as Buffer).length;
      if (size >= limit) break;
    }
  } catch {
    // What arrived before the failure is enough for a message.
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/** What fetch itself rejects with: the abort reason, or TypeError("fetch failed") caused by the network error. */
function standardFailure(request: Request, error: unknown): unknown {
  if (request.signal.aborted) return request.signal.reason;
  if (error instanceof FetchError && error.type === 'max-size') {
    return new PermanentFetchFailure(`answer larger than ${String(MAX_ANSWER_BYTES)} bytes`);
  }
  if (error instanceof FetchError && error.type === 'system') {
    // node-fetch keeps the network error only in its message: "request to <url> failed, reason: <error>".
    const reason = error.message.replace(/^request to .* failed, reason: /, '');
    return new TypeError('fetch failed', { cause: Object.assign(new Error(reason), { code: error.code }) });
  }
  return error;
}
