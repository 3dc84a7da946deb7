// Detection ends at its deadline or when the run is stopped, whichever comes first, and leaves no
// listener behind on a signal that lives longer than one run.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { parseAnswer } from '../../lib/source/answer.js';
import type { PrefixSource } from '../../lib/source/source.js';
import { detect } from '../../lib/sync/detect.js';
import type { NodeDirectory } from '../../lib/cluster/ports.js';

const NODES: NodeDirectory = { addresses: () => Promise.resolve({ nodes: 0, addresses: [] }) };

/** A source that answers only when told to stop, with what a fetch says then. */
function hanging() {
  const seen: AbortSignal[] = [];
  const source: PrefixSource = {
    name: 'slow',
    detect: ({ signal }) =>
      new Promise((_, reject) => {
        if (signal !== undefined) seen.push(signal);
        signal?.addEventListener('abort', () => {
          reject(new Error('aborted'));
        });
      }),
  };
  return { source, seen };
}

describe('detect', () => {
  it('a stop ends it with the reason, and tells the source to stop', async () => {
    const { source, seen } = hanging();
    const stop = new AbortController();
    const pending = detect(source, 60_000, NODES, { stop: stop.signal });
    stop.abort(new Error('stopped by SIGTERM'));
    expect(await pending).toEqual({ ok: false, error: 'source slow: detection stopped by SIGTERM' });
    expect(seen[0]?.aborted).toBe(true);
  });

  it('a stop that came before it ends it at once', async () => {
    const { source } = hanging();
    const stop = new AbortController();
    stop.abort(new Error("the run's deadline passed"));
    expect(await detect(source, 60_000, NODES, { stop: stop.signal })).toEqual({
      ok: false,
      error: "source slow: detection the run's deadline passed",
    });
  });

  it('leaves no listener on the stop signal once it is done', async () => {
    const stop = new AbortController();
    const answer = parseAnswer('static', '2a02:8071:1234:5678::9');
    const source: PrefixSource = { name: 'static', detect: () => Promise.resolve(answer) };
    expect(await detect(source, 60_000, NODES, { stop: stop.signal })).toEqual({ ok: true, value: answer });
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('a pushed answer is used as it is, without asking the source', async () => {
    const { source, seen } = hanging();
    const pushed = parseAnswer('push', '2a02:8071:1234::/48');
    expect(await detect(source, 10, NODES, { answer: pushed })).toEqual({ ok: true, value: pushed });
    expect(seen).toEqual([]);
  });
});
