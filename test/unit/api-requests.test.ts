// The one wrapper every Kubernetes API request of a run goes through: its timeout, its retries of
// transient failures only, and the run's stop.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { ApiRequests, currentRequestSignal, isTransient } from '../../lib/cluster/api-requests.js';

const limits = (stop = new AbortController().signal) => ({ timeoutMs: 50, stop, retries: 3, backoffMs: 1 });
const withStatus = (code: number) => Object.assign(new Error(`HTTP ${String(code)}`), { code });
const network = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

/** A request that fails with `errors` in turn, then answers "ok". */
function flaky(errors: Error[]) {
  let calls = 0;
  const request = () => {
    const error = errors[calls++];
    return error === undefined ? Promise.resolve('ok') : Promise.reject(error);
  };
  return { request, calls: () => calls };
}

/** A request that never answers on its own: only its signal ends it, as fetch does. */
const stalled = () =>
  new Promise<string>((_, reject) => {
    const signal = currentRequestSignal.getStore();
    signal?.addEventListener('abort', () => {
      reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }));
    });
  });

describe('transient or not', () => {
  it.each([
    [withStatus(429), true],
    [withStatus(500), true],
    [withStatus(503), true],
    [withStatus(504), true],
    [network('ECONNRESET'), true],
    [network('ECONNREFUSED'), true],
    [Object.assign(new Error('socket hang up'), {}), true],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), true],
    [withStatus(400), false],
    [withStatus(403), false],
    [withStatus(404), false],
    [withStatus(409), false],
    [withStatus(422), false],
    [withStatus(501), false],
    [withStatus(505), false],
    [new Error('IPAddressPool has no spec.addresses list'), false],
  ])('%s: %s', (error, transient) => {
    expect(isTransient(error)).toBe(transient);
  });
});

describe('ApiRequests', () => {
  it('retries a transient failure and counts every attempt', async () => {
    const requests = new ApiRequests(limits());
    const r = flaky([network('ECONNRESET'), withStatus(503)]);
    expect(await requests.track(r.request)).toBe('ok');
    expect([r.calls(), requests.count]).toEqual([3, 3]);
  });

  it('gives up after the configured retries with the last failure', async () => {
    const requests = new ApiRequests(limits());
    const r = flaky([withStatus(502), withStatus(502), withStatus(502), withStatus(503), withStatus(500)]);
    await expect(requests.track(r.request)).rejects.toThrow('HTTP 503');
    expect(r.calls()).toBe(4);
  });

  it('never retries an answer: 403, 404, 409', async () => {
    for (const code of [403, 404, 409]) {
      const r = flaky([withStatus(code)]);
      await expect(new ApiRequests(limits()).track(r.request)).rejects.toMatchObject({ code });
      expect(r.calls()).toBe(1);
    }
  });

  it('ends a request that does not answer at its timeout, and says which setting that is', async () => {
    const requests = new ApiRequests(limits());
    await expect(requests.track(stalled, { retries: 1 })).rejects.toThrow(
      'no answer from the Kubernetes API within 0.05 s (--request-timeout)',
    );
    expect(requests.count).toBe(2);
  });

  it('ends a stalled request at its timeout while the garbage collector runs', async () => {
    // Node 20 collects an AbortSignal.timeout() held only by AbortSignal.any(): the request then
    // waited for the run's deadline (found by a stalled apiserver in the fault tests).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const deadline = new AbortController();
    const requests = new ApiRequests({ ...limits(deadline.signal), timeoutMs: 300 });
    const collecting = setInterval(gc, 20);
    const ended = setTimeout(() => {
      deadline.abort(new Error("the run's deadline passed"));
    }, 5000);
    try {
      await expect(requests.track(stalled, { retries: 0 })).rejects.toThrow(
        'no answer from the Kubernetes API within 0.3 s (--request-timeout)',
      );
    } finally {
      clearInterval(collecting);
      clearTimeout(ended);
    }
  });

  it('aborts the request in flight when the run is stopped, long before its timeout', async () => {
    const stop = new AbortController();
    const requests = new ApiRequests({ ...limits(stop.signal), timeoutMs: 30_000 });
    const pending = requests.track(stalled);
    setTimeout(() => {
      stop.abort(new Error('stopped by SIGTERM'));
    }, 20);
    await expect(pending).rejects.toThrow('stopped by SIGTERM');
  });

  it('leaves the signal of a request that answered alone after its timeout would have passed', async () => {
    let seen: AbortSignal | undefined;
    const requests = new ApiRequests(limits());
    await requests.track(() => {
      seen = currentRequestSignal.getStore();
      return Promise.resolve('ok');
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen?.aborted).toBe(false);
  });

  it('stops at once when the run is stopped, with the reason, and sends nothing more', async () => {
    const stop = new AbortController();
    const requests = new ApiRequests(limits(stop.signal));
    const pending = requests.track(stalled);
    stop.abort(new Error('stopped by SIGTERM'));
    await expect(pending).rejects.toThrow('stopped by SIGTERM');
    await expect(requests.track(() => Promise.resolve('late'))).rejects.toThrow('stopped by SIGTERM');
    expect(requests.count).toBe(1);
    expect(requests.stopped).toBe('stopped by SIGTERM');
  });
});

describe('ApiRequests: waits and causes', () => {
  it('backs off before each retry, doubling the pause', async () => {
    const requests = new ApiRequests({ ...limits(), backoffMs: 40 });
    const r = flaky([withStatus(503), withStatus(503), withStatus(503)]);
    const started = Date.now();
    expect(await requests.track(r.request)).toBe('ok');
    // 40 + 80 + 160 ms of pauses.
    expect(Date.now() - started).toBeGreaterThanOrEqual(270);
  });

  it('a stop during a pause ends the wait at once', async () => {
    const stop = new AbortController();
    const requests = new ApiRequests({ ...limits(stop.signal), backoffMs: 60_000 });
    const r = flaky([withStatus(503)]);
    const started = Date.now();
    const pending = requests.track(r.request);
    setTimeout(() => {
      stop.abort(new Error("the run's deadline passed"));
    }, 20);
    await expect(pending).rejects.toThrow("the run's deadline passed");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.calls()).toBe(1);
  });

  it('keeps the failure as the cause of a timeout and of a stop', async () => {
    const timedOut = await new ApiRequests(limits()).track(stalled, { retries: 0 }).catch((e: unknown) => e);
    expect((timedOut as Error).cause).toMatchObject({ name: 'AbortError' });
    const stop = new AbortController();
    const pending = new ApiRequests(limits(stop.signal)).track(stalled).catch((e: unknown) => e);
    stop.abort('stopped by SIGINT');
    const stopped = (await pending) as Error;
    expect(stopped.message).toBe('stopped by SIGINT');
    expect(stopped.cause).toMatchObject({ name: 'AbortError' });
  });

  it('takes a network error by its code even when the message does not say it', () => {
    expect(isTransient(Object.assign(new Error('read failed'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('read failed'), { code: 'EACCES' }))).toBe(false);
  });
});
