// Kubernetes API failures as one readable line each.
import { errorText } from '../errors/error-text.js';
import { excerpt } from '../text/excerpt.js';

export function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = Number(error.code);
  return Number.isInteger(code) && code >= 100 ? code : undefined;
}

/** The Status message whole, or the body when it is not a Status. */
function wholeMessage(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('body' in error)) return undefined;
  let body: unknown = error.body;
  if (typeof body === 'string') {
    const text = body.trim();
    try {
      body = JSON.parse(text);
    } catch {
      return text === '' ? undefined : text;
    }
  }
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  return undefined;
}

/**
 * The apiserver's own Status message, when the error carries one, cut for a message: a webhook or
 * a proxy in front of the apiserver may answer with anything, of any length.
 */
export function serverMessage(error: unknown): string | undefined {
  const message = wholeMessage(error);
  return message === undefined ? undefined : excerpt(message);
}

/** True when a 404 means "this kind of resource is not served" rather than "this object is absent". */
export function isUnknownResource(error: unknown): boolean {
  if (statusCode(error) !== 404) return false;
  const message = serverMessage(error);
  return (
    message === undefined ||
    message.includes('could not find the requested resource') ||
    message.includes('404 page not found')
  );
}

/** Raised for a failure talking to the cluster; the message is ready for a person. */
export class ClusterError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}

/** Webhook and policy names are DNS names: anything longer is not one, and is cut. */
const ADMISSION_NAME_BYTES = 253;

/**
 * The admission webhook or policy that refused the request, from the apiserver's wording
 * ("admission webhook \"x\" denied the request", "ValidatingAdmissionPolicy 'p' with binding 'b'
 * denied request"). Such a refusal can come with any code (403, 400, 422, ...); RBAC has no part in it.
 */
export function admissionRefusal(error: unknown): string | undefined {
  const message = wholeMessage(error) ?? '';
  const name = (text: string | undefined) => excerpt(text ?? '', ADMISSION_NAME_BYTES);
  const webhook = /admission webhook "([^"]+)" denied the request/.exec(message);
  if (webhook !== null) return `admission webhook ${name(webhook[1])}`;
  const policy =
    /(ValidatingAdmissionPolicy|MutatingAdmissionPolicy) '([^']+)'(?: with binding '([^']+)')? denied request/.exec(
      message,
    );
  if (policy === null) return undefined;
  const binding = policy[3] === undefined ? '' : ` (binding ${name(policy[3])})`;
  return `${String(policy[1])} ${name(policy[2])}${binding}`;
}

export function describeApiError(action: string, error: unknown): ClusterError {
  const code = statusCode(error);
  const detail = serverMessage(error);
  if (code === 401)
    return new ClusterError(`${action}: unauthorized (401): the credentials were refused`, code);
  if (code !== undefined) {
    const refusedBy = admissionRefusal(error);
    // Pointing at the Role when a webhook refused sends the reader to the wrong place.
    const hint =
      refusedBy !== undefined
        ? `; refused by ${refusedBy}, not by RBAC`
        : code === 403
          ? '; check the Role bound to this identity'
          : '';
    return new ClusterError(
      `${action}: ${code === 403 ? 'forbidden (403)' : `HTTP ${String(code)}`}${detail === undefined ? '' : `: ${detail}`}${hint}`,
      code,
    );
  }
  // Not an HTTP answer (a connection or timeout failure): still cut, as it may quote what it read.
  return new ClusterError(`${action}: ${excerpt(errorText(error))}`);
}
