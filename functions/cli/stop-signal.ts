// SIGTERM (Kubernetes, Knative scaling to zero) and SIGINT (a person's Ctrl-C) end the long-lived modes.

/** Aborted by the first SIGTERM or SIGINT, with the signal's name as the reason. */
export function stopSignal(): AbortSignal {
  const stopped = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    stopped.abort(new Error(`stopped by ${signal}`));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return stopped.signal;
}

/** Resolves when `signal` is aborted. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else
      signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
  });
}
