// The HTTP contract every HTTP-capable platform shares: POST runs a sync now and answers the result
// document; 200 when the pool is right, 502 when the sync failed, 400 for a bad body, 401 without a
// valid bearer token (checked before anything but the function having a token at all), and 500
// whenever the function's own configuration is wrong, whichever check finds it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseAnswer } from '../../lib/source/answer.js';
import { errorText } from '../../lib/errors/error-text.js';
import { fail, ok, type Result } from '../../lib/errors/result.js';
import { excerpt } from '../../lib/text/excerpt.js';
import type { SyncRequest } from '../../lib/sync/sync-once.js';
import { succeeded, type SyncResult } from '../../lib/sync/result.js';
import { failedResult } from '../../lib/sync/run-report.js';
import type { TickGate } from './tick-gate.js';

export interface HttpRequest {
  method: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON, raw text, or nothing. */
  body: unknown;
}

/** Why no sync ran, for the caller: a refused token, method, body or tick. */
export interface ErrorDocument {
  error: string;
}

/** A sync's result document (a configuration refusal included, for monitors), else why none ran. */
export type ResponseBody = SyncResult | ErrorDocument;

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: ResponseBody;
}

type RunSync = (request: SyncRequest) => Promise<SyncResult>;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const respond = (
  statusCode: number,
  body: ResponseBody,
  headers: Record<string, string> = {},
): HttpResponse => ({
  statusCode,
  headers: { ...JSON_HEADERS, ...headers },
  body,
});

export function header(headers: HttpRequest['headers'], name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

/** Constant-time: both sides are hashed to equal length before comparing. */
export function tokenMatches(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected)) && expected !== '';
}

function authorized(request: HttpRequest, token: string | undefined): boolean {
  const value = header(request.headers, 'authorization');
  const match = value === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(value);
  return token !== undefined && match?.[1] !== undefined && tokenMatches(match[1], token);
}

/** The optional body: {"prefix": "…"} pushed by the router, {"dryRun": true}, {"force": true}. */
export function parseSyncBody(body: unknown): Result<SyncRequest> {
  let value = body;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const text = value.toString().trim();
    if (text === '') return ok({});
    try {
      value = JSON.parse(text);
    } catch {
      return fail('body is not JSON');
    }
  }
  if (value === undefined || value === null) return ok({});
  if (typeof value !== 'object' || Array.isArray(value)) return fail('body must be a JSON object');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !['prefix', 'dryRun', 'force'].includes(k));
  // The names are the caller's: a body of one 250 KB name would come back whole in the 400.
  if (unknown.length > 0)
    return fail(`unknown field(s): ${excerpt(unknown.join(', '))} (allowed: prefix, dryRun, force)`);
  const request: SyncRequest = {};
  for (const flag of ['dryRun', 'force'] as const) {
    if (fields[flag] === undefined) continue;
    if (typeof fields[flag] !== 'boolean') return fail(`${flag} must be true or false`);
    request[flag] = fields[flag];
  }
  if (fields['prefix'] !== undefined) {
    if (typeof fields['prefix'] !== 'string')
      return fail('prefix must be a string such as "2a02:8071:1234::/48"');
    try {
      request.answer = parseAnswer('push', fields['prefix']);
    } catch (error) {
      return fail(errorText(error));
    }
  }
  return ok(request);
}

/**
 * The deployment is wrong, not the caller nor a source nor the cluster: no retry can help until an
 * operator fixes it, whichever check found it (the settings, the credentials, the HTTP token).
 */
export const BAD_CONFIGURATION_STATUS = 500;

export function statusFor(result: SyncResult): number {
  if (result.status !== 'failed') return succeeded(result) ? 200 : 502;
  // A pushed prefix refused on its merits is the caller's error, not the cluster's.
  if (result.stage === 'detect' && result.trigger === 'http-push') return 422;
  return result.stage === 'config' ? BAD_CONFIGURATION_STATUS : 502;
}

export interface HttpApp {
  token: string | undefined;
  /** Configuration problems: the function cannot sync until they are fixed. */
  problems: readonly string[];
  /** namespace/name, for the documents of calls refused before a sync; `?` when not given. */
  pool?: string;
  ticks: TickGate;
  sync: RunSync;
}

/** A copy: a shared run's one document goes to every call that joined it, and runtimes may add to it. */
const answer = (result: SyncResult) => respond(statusFor(result), { ...result });

const badConfiguration = (app: HttpApp, trigger: string, problems: readonly string[]) =>
  answer(
    failedResult(
      { pool: app.pool ?? '?', trigger },
      { stage: 'config', error: `bad configuration: ${problems.join('; ')}` },
    ),
  );

/**
 * Without a token no caller can prove who it is: that is the deployment's fault, not the caller's.
 * The reason (a path, a length) stays in the log, away from whoever is calling.
 */
const NO_TOKEN = 'no usable HTTP token, so no call can be authenticated (the log says why)';

/** Handles one HTTP call; a sync runs only for an authenticated POST with a valid body. */
export async function handleHttp(request: HttpRequest, app: HttpApp): Promise<HttpResponse> {
  if ((app.token ?? '') === '') return badConfiguration(app, 'http', [NO_TOKEN]);
  if (!authorized(request, app.token)) {
    return respond(
      401,
      { error: 'missing or invalid bearer token' },
      { 'www-authenticate': 'Bearer realm="metallb-dyn6"' },
    );
  }
  if (request.method.toUpperCase() !== 'POST')
    return respond(405, { error: 'use POST to run a sync' }, { allow: 'POST' });
  const parsed = parseSyncBody(request.body);
  if (!parsed.ok) return respond(400, { error: parsed.error });
  const trigger = parsed.value.answer === undefined ? 'http' : 'http-push';
  if (app.problems.length > 0) return badConfiguration(app, trigger, app.problems);
  return answer(await app.sync({ ...parsed.value, trigger }));
}

/**
 * A scheduler's tick (PingSource, cron-connector, EventBridge). Schedulers cannot present a token,
 * so a tick can only run the plain sync the schedule runs anyway: any body it carries is ignored.
 */
export async function handleTick(
  app: HttpApp,
  trigger: string,
  sender: 'anyone' | 'the platform' = 'anyone',
): Promise<HttpResponse> {
  if (app.problems.length > 0) return badConfiguration(app, trigger, app.problems);
  const wait = sender === 'anyone' ? app.ticks.admit() : undefined;
  if (wait !== undefined) {
    return respond(
      429,
      {
        error: `schedule ticks run at most once per minimum interval; next in ${String(wait)} s (authenticated calls run at once)`,
      },
      { 'retry-after': String(wait) },
    );
  }
  return answer(await app.sync({ trigger }));
}
