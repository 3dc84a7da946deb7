// The image's own HTTP server (`serve`, and `run`'s health and metrics): the paths Knative Serving
// and faas-netes probe, Prometheus's /metrics, and every other request handed to the HTTP contract
// with its body as bytes, whatever its content type (routers' hooks send curl's form type).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorText } from '../../lib/errors/error-text.js';
import type { Logger } from '../../lib/log/logger.js';
import type { HttpRequest, HttpResponse } from './http-contract.js';

/** Knative Functions' probe paths (func.yaml's healthEndpoints), then faas-netes' (the watchdog's). */
export const LIVENESS_PATHS = ['/health/liveness', '/_/health'];
export const READINESS_PATHS = ['/health/readiness', '/_/ready'];
export const METRICS_PATH = '/metrics';
/** A sync request's body is a prefix and two flags: anything near this size is not one. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface Health {
  /** Undefined when healthy; else why not, for the probe's answer and the person reading it. */
  problem(): string | undefined;
}

/** Answering at all is the health: nothing inside can be wedged while the server responds. */
export const ALWAYS_HEALTHY: Health = { problem: () => undefined };

export interface Endpoints {
  liveness: Health;
  readiness: Health;
  metrics: Registry;
  /** Every other request; without it they are answered 404. */
  call?: (request: HttpRequest) => Promise<HttpResponse>;
}

/** The listening port: METALLB_DYN6_PORT / PORT (Knative sets it), 0 for any free one (tests). */
export function parsePort(text: string): number | undefined {
  return /^\d{1,5}$/.test(text) && Number(text) <= 65_535 ? Number(text) : undefined;
}

/** What one request is answered, written in one place. */
interface Reply {
  status: number;
  body: string;
  type: string;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  body: JSON.stringify(body),
  type: 'application/json; charset=utf-8',
  headers,
});

function probe(health: Health): Reply {
  const problem = health.problem();
  return problem === undefined ? json(200, { status: 'ok' }) : json(503, { status: 'unavailable', problem });
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function answer(req: IncomingMessage, endpoints: Endpoints): Promise<Reply> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && LIVENESS_PATHS.includes(path)) return probe(endpoints.liveness);
  if (read && READINESS_PATHS.includes(path)) return probe(endpoints.readiness);
  if (read && path === METRICS_PATH) {
    return { status: 200, body: await endpoints.metrics.metrics(), type: endpoints.metrics.contentType };
  }
  if (endpoints.call === undefined) return json(404, { error: `no such path: ${path}` });
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    // The rest of an oversized body is not read: the connection cannot serve another request.
    return json(413, { error: `body larger than ${String(MAX_BODY_BYTES)} bytes` }, { connection: 'close' });
  }
  const response = await endpoints.call({ method: req.method ?? 'GET', headers: req.headers, body });
  return json(response.statusCode, response.body, response.headers);
}

function write(res: ServerResponse, reply: Reply): void {
  res
    .writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store', ...reply.headers })
    .end(reply.body);
}

/** Listens on every address (IPv6 and IPv4) and resolves with the port once it does. */
export async function serveHttp(
  port: number,
  endpoints: Endpoints,
  onError: (error: unknown) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    answer(req, endpoints).then(
      (reply) => {
        write(res, reply);
      },
      (error: unknown) => {
        onError(error);
        write(res, json(500, { error: 'internal error (see the logs)' }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Starts the server for a long-lived mode and logs where it listens; when it cannot (a port in use,
 * no permission), reports why and returns undefined, for the caller to exit with a configuration error.
 */
export async function listenOrReport(
  port: number,
  report: (line: string) => void,
  log: Logger,
  endpoints: Endpoints,
): Promise<Server | undefined> {
  try {
    const listening = await serveHttp(port, endpoints, (error) => {
      log.error('request failed', { error: errorText(error) });
    });
    log.info('listening', { port: listening.port });
    return listening.server;
  } catch (error) {
    report(`cannot listen on port ${String(port)}: ${errorText(error)}`);
    return undefined;
  }
}
