// Every Kubernetes API request of one run goes through here: counted (the result document reports
// it), bounded in time (a stalled connection must not hang a CronJob for its whole deadline), and
// retried with backoff when the failure is transient — never past the run's deadline.
import { AsyncLocalStorage } from 'node:async_hooks';
import { abortAfter, timeoutReason } from './abort-after.js';
import { statusCode } from './api-error.js';
import type { RequestCounter } from './ports.js';

export interface RequestLimits {
  /** One request (one attempt) may take this long. */
  timeoutMs: number;
  /** Aborts every request still running: the run's deadline, or a stop signal. */
  stop: AbortSignal;
  /** Retries of a transient failure (0 in tests that count exact requests). */
  retries: number;
  /** The first backoff; doubled after each retry. */
  backoffMs: number;
}

/**
 * The signal of the request being made now. ApiClients hands it to client-node's request context,
 * which passes it to fetch: the request is cancelled, not just abandoned.
 */
export const currentRequestSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Whether a request's outcome is unknown or it was refused before doing anything: connection
 * failures, timeouts, 429 and 5xx. A 4xx other than 429 is an answer, not a failure to get one.
 */
export function isTransient(error: unknown): boolean {
  const code = statusCode(error);
  if (code !== undefined) return [429, 500, 502, 503, 504].includes(code);
  const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).name} ${(error as Error).message}`;
  return /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|AbortError|TimeoutError|aborted|network|premature close/i.test(
    text,
  );
}

/** What a run uses: the configured timeout, three retries from a quarter second on. */
export function requestLimits(requestTimeoutMs: number, stop: AbortSignal): RequestLimits {
  return { timeoutMs: requestTimeoutMs, stop, retries: 3, backoffMs: 250 };
}

export class ApiRequests implements RequestCounter {
  private n = 0;

  constructor(private readonly limits: RequestLimits) {}

  get count(): number {
    return this.n;
  }

  /** Aborted when the run must end: its deadline, or a stop. */
  get signal(): AbortSignal {
    return this.limits.stop;
  }

  /** Why requests stop now, or undefined while they may run. */
  get stopped(): string | undefined {
    const reason: unknown = this.limits.stop.reason;
    if (!this.limits.stop.aborted) return undefined;
    return reason instanceof Error ? reason.message : String(reason);
  }

  /**
   * Runs one API request with its timeout, retrying transient failures. Repeating any request of a
   * sync is safe: a PATCH carries its resourceVersion (a repeat of one that was applied gets 409),
   * and a repeated deletecollection restarts MetalLB's replacements once more, which the wait
   * follows like the first restart.
   */
  async track<T>(request: () => Promise<T>, options: { retries?: number } = {}): Promise<T> {
    const retries = options.retries ?? this.limits.retries;
    for (let attempt = 0; ; attempt++) {
      const stopped = this.stopped;
      if (stopped !== undefined) throw new Error(stopped);
      this.n++;
      const timeout = abortAfter(this.limits.timeoutMs, timeoutReason(), [this.limits.stop]);
      const { signal } = timeout;
      try {
        return await currentRequestSignal.run(signal, request);
      } catch (error) {
        const stoppedNow = this.stopped;
        if (stoppedNow !== undefined) throw new Error(stoppedNow, { cause: error });
        if (attempt < retries && isTransient(error)) {
          await this.pause(this.limits.backoffMs * 2 ** attempt);
          continue;
        }
        // Not stopped, so only the request's own timeout can have aborted it.
        if (!signal.aborted) throw error;
        const seconds = String(this.limits.timeoutMs / 1000);
        throw new Error(`no answer from the Kubernetes API within ${seconds} s (--request-timeout)`, {
          cause: error,
        });
      } finally {
        timeout.clear();
      }
    }
  }

  /** Waits, but not past a stop. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.limits.stop.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.limits.stop.addEventListener('abort', done, { once: true });
    });
  }
}
