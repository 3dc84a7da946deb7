// How a scheduler's call is told from a person's: schedulers present no token, only their mark.
import { header, type HttpRequest } from './http-contract.js';

/** The CloudEvent type of a Knative PingSource's tick. */
export const PING_EVENT_TYPE = 'dev.knative.sources.ping';
/** The header OpenFaaS's cron-connector adds to each call it makes. */
export const CRON_CONNECTOR = 'cron-connector';

/** A PingSource's CloudEvent in structured mode carries its type in the JSON body. */
function structuredEventType(request: HttpRequest): unknown {
  const type = header(request.headers, 'content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/cloudevents+json')) return undefined;
  try {
    return (JSON.parse(String(request.body)) as { type?: unknown } | null)?.type;
  } catch {
    return undefined;
  }
}

/** Whether this call is a scheduler's tick: a PingSource CloudEvent (binary or structured) or the cron-connector. */
export function isScheduleTick(request: HttpRequest): boolean {
  return (
    header(request.headers, 'ce-type') === PING_EVENT_TYPE ||
    header(request.headers, 'x-connector') === CRON_CONNECTOR ||
    structuredEventType(request) === PING_EVENT_TYPE
  );
}
