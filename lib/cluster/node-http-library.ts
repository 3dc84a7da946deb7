// The HTTP layer under client-node's API classes: lib/http/node-exchange.ts, handed client-node's own
// agent (TLS settings, keep-alive pool, proxy), instead of client-node's default over node-fetch.
// client-node still builds the request (URL, headers, authentication, serialization) and reads the
// answer; only the exchange itself is done here.
import {
  ResponseContext,
  SelfDecodingBody,
  wrapHttpLibrary,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { exchange } from '../http/node-exchange.js';

async function send(request: RequestContext): Promise<ResponseContext> {
  const body = request.getBody();
  // client-node's API classes send JSON text; nothing here sends a form.
  if (body !== undefined && typeof body !== 'string')
    throw new TypeError('only text request bodies are sent');
  const signal = request.getSignal();
  const answer = await exchange(request.getUrl(), {
    method: request.getHttpMethod(),
    // Named in the apiserver's audit log and metrics, as node-fetch's default name was before.
    headers: { 'user-agent': 'metallb-dyn6', ...request.getHeaders() },
    agent: request.getAgent() ?? false,
    ...(body === undefined ? {} : { body }),
    ...(signal === undefined ? {} : { signal }),
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    // One value per name, as fetch's Headers give them.
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return new ResponseContext(answer.status, headers, new SelfDecodingBody(Promise.resolve(answer.body)));
}

export const nodeHttpLibrary: HttpLibrary = wrapHttpLibrary({ send });
