// OpenFaaS adapter for the node22 template (`faas-cli build`; the released image's `serve` needs no
// template): `module.exports = async (event, context)`. The cron connector's call is the schedule's
// tick; every other request follows the HTTP contract.
import { createFunctionApp } from '../shared/function-app.js';
import { defaultKubeConfig } from '../shared/kube-config-provider.js';
import { handleHttp, handleTick } from '../shared/http-contract.js';
import { isScheduleTick } from '../shared/schedule-tick.js';

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

/**
 * Without RAW_BODY=true the template parses bodies before the handler sees them, and what it does
 * cannot be undone here: a router's `curl -d` (form-encoded) arrives as a form's fields, an
 * application/octet-stream body is dropped (so a pushed prefix would silently become a plain
 * sync), malformed JSON never reaches the handler. So the function refuses to sync until the
 * deployment says RAW_BODY: 'true' (stack.build.yml does), with every body then a Buffer.
 */
const RAW_BODY_PROBLEM =
  "RAW_BODY is not \"true\": the node22 template would parse request bodies itself and lose pushed prefixes; set RAW_BODY: 'true' in the function's environment";

const app = createFunctionApp(process.env, defaultKubeConfig());
if (process.env['RAW_BODY'] !== 'true') {
  app.problems.push(RAW_BODY_PROBLEM);
  app.log.error('bad configuration', { problem: RAW_BODY_PROBLEM });
}

export default async function handler(event: FunctionEvent, context: FunctionContext): Promise<void> {
  const request = { method: event.method, headers: event.headers, body: event.body };
  const response = isScheduleTick(request)
    ? await handleTick(app, 'schedule')
    : await handleHttp(request, app);
  context.status(response.statusCode).headers(response.headers).succeed(response.body);
}
