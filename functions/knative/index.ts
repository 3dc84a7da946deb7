// Knative Functions adapter (`func build`, faas-js-runtime; the released image's `serve` needs no
// runtime): `handle(context, body)`. A PingSource CloudEvent, which the runtime parses itself, is
// the schedule's tick; every other request follows the HTTP contract.
import { subscribe } from 'node:diagnostics_channel';
import { createFunctionApp } from '../shared/function-app.js';
import { defaultKubeConfig } from '../shared/kube-config-provider.js';
import { handleHttp, handleTick, type HttpResponse } from '../shared/http-contract.js';
import { PING_EVENT_TYPE } from '../shared/schedule-tick.js';
import { bodyAsBytes, REQUEST_START_CHANNEL } from './body-as-bytes.js';

/** What faas-js-runtime hands the function (the parts used here). */
interface RuntimeContext {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  cloudevent?: { type?: string; source?: string };
}

const app = createFunctionApp(process.env, defaultKubeConfig());
// Loaded by the runtime before it serves: from the first request on, bodies reach us as bytes.
subscribe(REQUEST_START_CHANNEL, bodyAsBytes);

export async function handle(context: RuntimeContext, body: unknown): Promise<HttpResponse> {
  if (context.cloudevent?.type === PING_EVENT_TYPE) return handleTick(app, 'schedule');
  return handleHttp({ method: context.method, headers: context.headers, body }, app);
}
