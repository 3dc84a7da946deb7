// faas-js-runtime (fastify) parses JSON, text and form bodies itself before the function sees them,
// and answers what it cannot parse with its own 400, before the token is checked: a body that is
// not UTF-8 gets "Request body size did not match Content-Length", and a router's `curl -d` (a form
// type) arrives as a form's fields. Any other type its catch-all parser hands over as bytes, so every
// call is given that type and the HTTP contract reads the body itself, as on OpenFaaS and Lambda.
// The runtime offers no hook before it parses; Node's diagnostics channel for an arriving request
// runs before the server's handler.
import type { IncomingMessage } from 'node:http';

export const REQUEST_START_CHANNEL = 'http.server.request.start';
export const BYTES_TYPE = 'application/octet-stream';

/**
 * Whether the runtime should hand this request's body over as bytes: every POST but a CloudEvent
 * (the PingSource's tick, binary or structured), which the runtime must still recognise.
 */
export function wantsBytes(method: string | undefined, headers: IncomingMessage['headers']): boolean {
  if (method !== 'POST' || headers['ce-specversion'] !== undefined) return false;
  return !(headers['content-type'] ?? '').toLowerCase().includes('application/cloudevents');
}

/** The channel's subscriber: `message` is { request, response, socket, server }. */
export function bodyAsBytes(message: unknown): void {
  const request = (message as { request?: IncomingMessage } | null)?.request;
  if (request !== undefined && wantsBytes(request.method, request.headers)) {
    request.headers['content-type'] = BYTES_TYPE;
  }
}
