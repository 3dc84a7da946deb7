// The fetch ky calls: node-fetch, over Node's http and https modules, instead of Node's built-in
// fetch (undici). undici parses HTTP in WebAssembly, and compiling that costs a cold sync ~200 ms and
// ~30 MB, more than all the rest of the run; a small GET needs nothing it adds. ky still sees the
// standard Request and Response classes.
import http from 'node:http';
import https from 'node:https';
import nodeFetch, { FetchError, type RequestInit as NodeFetchInit } from 'node-fetch';
import { checkServerIdentity } from './server-identity.js';

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

// Keep-alive like fetch (without an agent node-fetch sends "Connection: close", and every request
// would pay a new connection and its teardown); HTTPS with the address-aware certificate check.
const httpsAgent = new https.Agent({ keepAlive: true, checkServerIdentity });

export async function fetchOverNodeHttp(...[input, init]: Parameters<typeof fetch>): Promise<Response> {
  // ky hands over a ready Request (and no further options); building another would cost as much again.
  const request =
    input instanceof Request && (init === undefined || Object.keys(init).length === 0)
      ? input
      : new Request(input, init);
  const response = await nodeFetch(request.url, {
    method: request.method,
    headers: [...request.headers],
    ...(request.body === null ? {} : { body: Buffer.from(await request.arrayBuffer()) }),
    redirect: request.redirect,
    agent: (url) => (url.protocol === 'https:' ? httpsAgent : http.globalAgent),
    // The same AbortSignal; @types/node-fetch only describes it with an older DOM typing.
    signal: request.signal as NonNullable<NodeFetchInit['signal']>,
  }).catch((error: unknown) => {
    throw standardFailure(request, error);
  });
  const headers = new Headers();
  for (const [name, values] of Object.entries(response.headers.raw())) {
    for (const value of values) headers.append(name, value);
  }
  const hasBody = request.method !== 'HEAD' && !NULL_BODY_STATUSES.has(response.status);
  // Answers are small: reading the body here is cheaper than adapting Node's stream to a web stream.
  const body = hasBody
    ? await response.buffer().catch((error: unknown) => {
        throw standardFailure(request, error);
      })
    : null;
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** What fetch itself rejects with: the abort reason, or TypeError("fetch failed") caused by the network error. */
function standardFailure(request: Request, error: unknown): unknown {
  if (request.signal.aborted) return request.signal.reason;
  if (error instanceof FetchError && error.type === 'system') {
    // node-fetch keeps the network error only in its message: "request to <url> failed, reason: <error>".
    const reason = error.message.replace(/^request to .* failed, reason: /, '');
    return new TypeError('fetch failed', { cause: Object.assign(new Error(reason), { code: error.code }) });
  }
  return error;
}
