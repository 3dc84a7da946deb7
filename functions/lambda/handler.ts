// AWS Lambda adapter: an EventBridge schedule runs the sync; an API Gateway HTTP API call
// (POST /sync) follows the HTTP contract.
import { failedResult } from '../../lib/sync/run-report.js';
import { createFunctionApp } from '../shared/function-app.js';
import { handleHttp, handleTick, type HttpResponse, type ResponseBody } from '../shared/http-contract.js';
import { kubeConfigProvider } from './kube-credentials.js';

interface ScheduledEvent {
  source: 'aws.events';
  'detail-type': 'Scheduled Event';
}

interface HttpApiEvent {
  version: '2.0';
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path: string } };
}

interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Thrown for a scheduled sync that failed: only a thrown error makes Lambda count the invocation as
 * failed, so the Errors metric, alarms, retries and failure destinations see the outage.
 */
export class ScheduledSyncFailed extends Error {
  constructor(readonly result: ResponseBody) {
    const what =
      'status' in result
        ? `${result.status}${result.stage === undefined ? '' : ` at ${result.stage}`}`
        : 'refused';
    super(`metallb-dyn6 sync ${what}: ${String(result.error)}`);
    this.name = 'ScheduledSyncFailed';
  }
}

const app = createFunctionApp(process.env, kubeConfigProvider(process.env));

function isScheduled(event: unknown): event is ScheduledEvent {
  const e = event as Partial<ScheduledEvent> | null;
  return e?.source === 'aws.events' && e['detail-type'] === 'Scheduled Event';
}

function isHttpApi(event: unknown): event is HttpApiEvent {
  const e = event as Partial<HttpApiEvent> | null;
  return e?.version === '2.0' && typeof e.requestContext?.http.method === 'string';
}

const toHttpApi = (response: HttpResponse): HttpApiResult => ({
  statusCode: response.statusCode,
  headers: response.headers,
  body: JSON.stringify(response.body),
});

export async function handler(event: unknown): Promise<HttpApiResult | ResponseBody> {
  if (isScheduled(event)) {
    // Only EventBridge, authorized by IAM, can hand Lambda this event: no rate limit needed.
    const response = await handleTick(app, 'schedule', 'the platform');
    if (response.statusCode >= 400) throw new ScheduledSyncFailed(response.body);
    return response.body;
  }
  if (isHttpApi(event)) {
    const raw = event.body ?? '';
    const body = event.isBase64Encoded === true ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    return toHttpApi(
      await handleHttp({ method: event.requestContext.http.method, headers: event.headers ?? {}, body }, app),
    );
  }
  app.log.error('unsupported event', { keys: Object.keys(event ?? {}) });
  return failedResult(
    { pool: app.pool },
    {
      stage: 'request',
      error: 'unsupported event: expected an EventBridge schedule or an HTTP API (2.0) request',
    },
  );
}
