// The prefix for one run: the one the caller pushed, or the configured source's answer within the
// detection deadline.
import { optionLabel } from '../config/options.js';
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import { SourceError, type PrefixSource, type SourceAnswer } from '../source/source.js';
import type { NodeDirectory } from '../cluster/ports.js';

/** Sources are told to stop (their signal aborts) when the deadline passes or `stop` aborts. */
export async function detect(
  source: PrefixSource,
  deadlineMs: number,
  nodes: NodeDirectory,
  { answer: pushed, stop }: { answer?: SourceAnswer; stop?: AbortSignal } = {},
): Promise<Result<SourceAnswer>> {
  if (pushed !== undefined) return ok(pushed);
  const controller = new AbortController();
  // The deadline and a stop end detection the same way: this message, then the source's signal.
  let end!: (why: string) => void;
  const ended = new Promise<never>((_, reject) => {
    end = (why) => {
      reject(new SourceError(source.name, why));
      // After the rejection, so this message wins the race over the source's "aborted".
      controller.abort();
    };
  });
  const seconds = String(deadlineMs / 1000);
  const timer = setTimeout(() => {
    end(
      `no usable answer within the ${seconds} s detection deadline; raise ${optionLabel('detectDeadline')} if the sources need longer`,
    );
  }, deadlineMs);
  const onStop = () => {
    end(`detection ${errorText(stop?.reason)}`);
  };
  if (stop?.aborted === true) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  try {
    return ok(await Promise.race([source.detect({ signal: controller.signal, nodes }), ended]));
  } catch (error) {
    return fail(errorText(error));
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', onStop);
  }
}
