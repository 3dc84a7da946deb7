// Not AbortSignal.timeout(): inside AbortSignal.any(), Node 20 garbage-collects it before it fires
// (fixed in Node 22), so a stalled request waited for the run's deadline instead of its own timeout.
// A timer holds its controller until it fires or is cleared, so this one cannot be collected.

export interface AbortTimer {
  /** Aborted with `reason` after the time, or with the reason of any signal it was joined with. */
  readonly signal: AbortSignal;
  /** Stops the timer: call it when the work the signal bounds has ended. */
  clear(): void;
}

export function abortAfter(ms: number, reason: Error, joined: readonly AbortSignal[] = []): AbortTimer {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(reason);
  }, ms);
  return {
    signal: AbortSignal.any([controller.signal, ...joined]),
    clear: () => {
      clearTimeout(timer);
    },
  };
}

/** The reason AbortSignal.timeout() gives, so a timed-out request reads like one. */
export const timeoutReason = (): Error => new DOMException('The operation timed out.', 'TimeoutError');
