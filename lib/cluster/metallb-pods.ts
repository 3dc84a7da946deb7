// MetalLB's pods: listing them, and cycling them (delete, then wait for Ready replacements).
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { abortAfter, timeoutReason } from './abort-after.js';
import type { ApiClients } from './api-clients.js';
import { ClusterError, describeApiError } from './api-error.js';
import { errorText } from '../errors/error-text.js';
import type { ApiRequests } from './api-requests.js';
import { watchPods } from './pod-watch.js';
import type { CycleResult, MetalLBPods, PodList, PodSet } from './ports.js';

/** Every container image the pods run. */
export function podImages(pods: readonly V1Pod[]): string[] {
  return pods.flatMap((p) => p.spec?.containers.map((c) => c.image ?? '') ?? []).filter((i) => i !== '');
}

export const podReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
/** How long one watch is followed before the pods are listed again. */
const WATCH_SLICE_MS = 5_000;

const live = (pod: V1Pod) => pod.metadata?.deletionTimestamp === undefined;
const podName = (pod: V1Pod) => pod.metadata?.name ?? '?';

export class KubeMetalLBPods implements MetalLBPods {
  private readonly core: CoreV1Api;
  /** The selector that matched MetalLB's pods in this run: the deletion and the wait use it too. */
  private chosen: string | undefined;

  constructor(
    private readonly clients: ApiClients,
    private readonly pods: PodSet,
    private readonly counter: ApiRequests,
  ) {
    this.core = clients.get(CoreV1Api);
  }

  async list(): Promise<PodList> {
    const candidates = this.chosen === undefined ? this.pods.labelSelectors : [this.chosen];
    let list: PodList = { items: [], resourceVersion: '' };
    for (const labelSelector of candidates) {
      list = await this.listMatching(labelSelector);
      if (list.items.length > 0) {
        this.chosen = labelSelector;
        break;
      }
    }
    return list;
  }

  private get selector(): string {
    return this.chosen ?? this.pods.labelSelectors.join(' or ');
  }

  private async listMatching(labelSelector: string): Promise<PodList> {
    const namespace = this.pods.namespace;
    try {
      const list = await this.counter.track(() => this.core.listNamespacedPod({ namespace, labelSelector }));
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    } catch (error) {
      throw describeApiError(`listing MetalLB pods in ${namespace} (${labelSelector})`, error);
    }
  }

  /** Deletes the pods in one request, then follows a watch until the replacements are Ready. */
  async cycle(current: readonly V1Pod[], timeoutMs: number): Promise<CycleResult> {
    const old = current.filter(live);
    if (old.length === 0)
      throw new ClusterError(`no MetalLB pods match ${this.selector} in ${this.pods.namespace}`);
    try {
      await this.counter.track(() =>
        this.core.deleteCollectionNamespacedPod({
          namespace: this.pods.namespace,
          labelSelector: this.selector,
        }),
      );
    } catch (error) {
      throw describeApiError(`deleting MetalLB pods in ${this.pods.namespace}`, error);
    }
    const oldUids = new Set(old.map((p) => p.metadata?.uid));
    const settled = (pods: V1Pod[]) => {
      const replacements = pods.filter((p) => !oldUids.has(p.metadata?.uid) && live(p));
      const done =
        pods.every((p) => !oldUids.has(p.metadata?.uid)) &&
        replacements.length >= old.length &&
        replacements.every(podReady);
      return { done, replacements };
    };
    const final = await this.waitUntil(settled, timeoutMs);
    if (final.unobserved !== undefined) {
      throw new UnobservedError(
        `MetalLB's pods were deleted, but their replacements could not be observed: ${final.unobserved}`,
      );
    }
    if (!final.done) {
      const left = final.pods.filter((p) => oldUids.has(p.metadata?.uid)).map(podName);
      const notReady = final.replacements.filter((p) => !podReady(p)).map(podName);
      const ready = final.replacements.length - notReady.length;
      throw new ClusterError(
        `MetalLB did not come back within ${String(timeoutMs / 1000)} s: ${String(ready)} of ${String(old.length)} replacement pods Ready` +
          (notReady.length > 0 ? `; not Ready: ${notReady.join(', ')}` : '') +
          (left.length > 0 ? `; still terminating: ${left.join(', ')}` : ''),
      );
    }
    return { deleted: old.map(podName), replacements: final.replacements.map(podName) };
  }

  /**
   * Lists, then follows a watch for a few seconds at a time (a stalled watch costs one slice, not
   * the wait), until `check` is satisfied or the time is up. `unobserved` says why the pods could
   * not be seen when the last attempt to list them failed.
   */
  private async waitUntil(
    check: (pods: V1Pod[]) => { done: boolean; replacements: V1Pod[] },
    timeoutMs: number,
  ): Promise<{ done: boolean; replacements: V1Pod[]; pods: V1Pod[]; unobserved?: string }> {
    const deadline = Date.now() + timeoutMs;
    const pods = new Map<string, V1Pod>();
    const snapshot = () => {
      const all = [...pods.values()];
      return { ...check(all), pods: all };
    };
    let unobserved: string | undefined = 'the wait ended before the first list';
    while (Date.now() < deadline && this.counter.stopped === undefined) {
      let list: PodList;
      try {
        list = await this.list();
        unobserved = undefined;
      } catch (error) {
        unobserved = errorText(error);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, Math.min(250, deadline - Date.now()))),
        );
        continue;
      }
      pods.clear();
      for (const p of list.items) pods.set(p.metadata?.uid ?? podName(p), p);
      if (snapshot().done) return snapshot();
      const sliceMs = Math.min(WATCH_SLICE_MS, deadline - Date.now());
      if (await this.follow(list.resourceVersion, pods, () => snapshot().done, sliceMs)) return snapshot();
    }
    // A watch that stalled to the end of the wait saw nothing: one last list says where the pods are,
    // rather than rolling back a write MetalLB took.
    if (this.counter.stopped === undefined && unobserved === undefined) {
      try {
        const list = await this.list();
        pods.clear();
        for (const p of list.items) pods.set(p.metadata?.uid ?? podName(p), p);
      } catch {
        // The pods as last seen decide.
      }
    }
    return {
      ...snapshot(),
      ...(unobserved === undefined ? {} : { unobserved: this.counter.stopped ?? unobserved }),
    };
  }

  /** Applies watch events to `pods` until `done()` or `sliceMs` passed; false if not done by then. */
  private async follow(
    resourceVersion: string,
    pods: Map<string, V1Pod>,
    done: () => boolean,
    sliceMs: number,
  ): Promise<boolean> {
    const finished = new AbortController();
    const slice = abortAfter(Math.max(1, sliceMs), timeoutReason(), [finished.signal, this.counter.signal]);
    const { signal } = slice;
    const query = { labelSelector: this.selector, resourceVersion, allowWatchBookmarks: 'true' };
    try {
      await this.counter.track(
        () =>
          watchPods(this.clients.kubeConfig, this.pods.namespace, query, signal, (phase, pod) => {
            const key = pod.metadata?.uid ?? podName(pod);
            if (phase === 'DELETED') pods.delete(key);
            else if (phase === 'ADDED' || phase === 'MODIFIED') pods.set(key, pod);
            if (done()) finished.abort();
          }),
        { retries: 0 },
      );
    } catch {
      // Ended by us, by the slice's end, or by the server: the next list tells where things stand.
    } finally {
      slice.clear();
    }
    return done();
  }
}

/** The pods were restarted, but whether their replacements came up could not be seen. */
export class UnobservedError extends ClusterError {
  constructor(message: string) {
    super(message);
    this.name = 'UnobservedError';
  }
}
