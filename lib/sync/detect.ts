// The prefix for one run: the one the caller pushed, or the configured source's answer within the
// detection deadline.
import { optionLabel } from '../config/options.js';
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import { SourceError, type NodeDirectory, type PrefixSource, type SourceAnswer } from '../source/source.js';

/** Sources are told to stop (their signal aborts) when the deadline passes or `stop` aborts. */
export async function detect(
  source: PrefixSource,
  deadlineMs: number,
  nodes: NodeDirectory,
  { answer: pushed, stop }: { answer?: SourceAnswer; stop?: AbortSignal } = {},
): Promise<Result<SourceAnswer>> {
  if (pushed !== undefined) return ok(pushed);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seconds = String(deadlineMs / 1000);
      reject(
        new SourceError(
          source.name,
          `no usable answer within the ${seconds} s detection deadline; raise ${optionLabel('detectDeadline')} if the sources need longer`,
        ),
      );
      // After the rejection, so the deadline's message wins the race over the source's "aborted".
      controller.abort();
    }, deadlineMs);
  });
  let onStop: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    onStop = () => {
      reject(new SourceError(source.name, `detection ${errorText(stop?.reason)}`));
      controller.abort();
    };
    if (stop?.aborted === true) onStop();
    else stop?.addEventListener('abort', onStop, { once: true });
  });
  try {
    return ok(await Promise.race([source.detect({ signal: controller.signal, nodes }), deadline, stopped]));
  } catch (error) {
    return fail(errorText(error));
  } finally {
    clearTimeout(timer);
    if (onStop !== undefined) stop?.removeEventListener('abort', onStop);
  }
}
