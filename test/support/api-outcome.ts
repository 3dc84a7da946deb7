import { statusCode } from '../../lib/cluster/api-error.js';

/** The HTTP status an API call ended with: 200 when it succeeded, the error's code otherwise. */
export function apiOutcome(call: Promise<unknown>): Promise<number | undefined> {
  return call.then(
    () => 200,
    (error: unknown) => statusCode(error),
  );
}
