// OpenFaaS adapter for the node22 template: `module.exports = async (event, context)`. The cron
// connector's call is the schedule's tick; every other request follows the HTTP contract.
import { createFunctionApp } from '../shared/function-app.js';
import { defaultKubeConfig } from '../shared/kube-config-provider.js';
import { handleHttp, handleTick } from '../shared/http-contract.js';

/** The template's FunctionEvent and FunctionContext (the parts used here). */
interface FunctionEvent {
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  method: string;
  path: string;
}
interface FunctionContext {
  status(code: number): FunctionContext;
  headers(values: Record<string, string>): FunctionContext;
  succeed(value: unknown): void;
}

const app = createFunctionApp(process.env, defaultKubeConfig());

function isCronTick(event: FunctionEvent): boolean {
  const connector = Object.entries(event.headers).find(([k]) => k.toLowerCase() === 'x-connector')?.[1];
  return connector === 'cron-connector';
}

export default async function handler(event: FunctionEvent, context: FunctionContext): Promise<void> {
  const response = isCronTick(event)
    ? await handleTick(app, 'schedule')
    : await handleHttp({ method: event.method, headers: event.headers, body: event.body }, app);
  context.status(response.statusCode).headers(response.headers).succeed(response.body);
}
