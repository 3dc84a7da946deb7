// The HTTP layer under client-node's API classes: lib/http/node-exchange.ts, handed client-node's own
// agent (TLS settings, keep-alive pool, proxy), instead of client-node's default over node-fetch.
// client-node still builds the request (URL, headers, authentication, serialization) and reads the
// answer; only the exchange itself is done here.
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import {
  ResponseContext,
  wrapHttpLibrary,
  type HttpLibrary,
  type RequestContext,
  type ResponseBody,
} from '@kubernetes/client-node';
import { exchange } from '../http/node-exchange.js';

const gunzipped = promisify(gunzip);

async function send(request: RequestContext): Promise<ResponseContext> {
  const body = request.getBody();
  // client-node's API classes send JSON text; nothing here sends a form.
  if (body !== undefined && typeof body !== 'string')
    throw new TypeError('only text request bodies are sent');
  const signal = request.getSignal();
  const answer = await exchange(request.getUrl(), {
    method: request.getHttpMethod(),
    // Named in the apiserver's audit log and metrics. Compressed answers, as node-fetch asked for:
    // the apiserver compresses only those over 128 KB (a LIST of thousands of Services), which a
    // function reaching its cluster over the internet (Lambda and EKS) would otherwise wait for.
    headers: { 'user-agent': 'metallb-dyn6', 'accept-encoding': 'gzip', ...request.getHeaders() },
    agent: request.getAgent() ?? false,
    ...(body === undefined ? {} : { body }),
    ...(signal === undefined ? {} : { signal }),
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    // One value per name, as fetch's Headers give them.
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Decompressed when read (only the apiserver's answers are: it is the server we trust).
  const binary = () =>
    answer.headers['content-encoding'] === 'gzip' ? gunzipped(answer.body) : Promise.resolve(answer.body);
  const read: ResponseBody = { binary, text: async () => (await binary()).toString() };
  return new ResponseContext(answer.status, headers, read);
}

export const nodeHttpLibrary: HttpLibrary = wrapHttpLibrary({ send });
