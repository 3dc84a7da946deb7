// Knative Functions adapter (faas-js-runtime): `handle(context, body)`. A PingSource CloudEvent is
// the schedule's tick; every other request follows the HTTP contract.
import { loadKubeConfig } from '../../lib/cluster/kube-config.js';
import { createFunctionApp } from '../shared/function-app.js';
import { handleHttp, handleTick, type HttpResponse } from '../shared/http-contract.js';

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** What faas-js-runtime hands the function (the parts used here). */
interface RuntimeContext {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  cloudevent?: { type?: string; source?: string };
}

let kubeConfig: ReturnType<typeof loadKubeConfig> | undefined;
const app = createFunctionApp(process.env, () => {
  kubeConfig ??= loadKubeConfig();
  return Promise.resolve(kubeConfig);
});

export async function handle(context: RuntimeContext, body: unknown): Promise<HttpResponse> {
  if (context.cloudevent?.type === PING_EVENT_TYPE) return handleTick(app, 'schedule');
  return handleHttp({ method: context.method, headers: context.headers, body }, app);
}
