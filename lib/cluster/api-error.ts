// Kubernetes API failures as one readable line each.
import { errorText } from '../errors/error-text.js';

export function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = Number(error.code);
  return Number.isInteger(code) && code >= 100 ? code : undefined;
}

/** The apiserver's own Status message, when the error carries one. */
export function serverMessage(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('body' in error)) return undefined;
  let body: unknown = error.body;
  if (typeof body === 'string') {
    const text = body.trim();
    try {
      body = JSON.parse(text);
    } catch {
      return text === '' ? undefined : text.slice(0, 200);
    }
  }
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  return undefined;
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

export function describeApiError(action: string, error: unknown): ClusterError {
  const code = statusCode(error);
  const detail = serverMessage(error);
  if (code === 401)
    return new ClusterError(`${action}: unauthorized (401): the credentials were refused`, code);
  if (code === 403) {
    return new ClusterError(
      `${action}: forbidden (403)${detail === undefined ? '' : `: ${detail}`}; check the Role bound to this identity`,
      code,
    );
  }
  if (code !== undefined)
    return new ClusterError(
      `${action}: HTTP ${String(code)}${detail === undefined ? '' : `: ${detail}`}`,
      code,
    );
  const cause = errorText(error);
  return new ClusterError(`${action}: ${cause}`);
}
