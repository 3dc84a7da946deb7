// A watch on pods that a signal can end at any moment, the connection included. client-node's
// Watch hands out its abort handle only once the server has answered, so a server that never
// answers would hold the run (and the process) forever.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import fetch, { type RequestInit } from 'node-fetch';

export type PodEvent = (phase: string, pod: V1Pod) => void;

/** Streams the watch's events to `onEvent` until the server ends it; rejects on failure or abort. */
export async function watchPods(
  kc: KubeConfig,
  namespace: string,
  query: Record<string, string>,
  signal: AbortSignal,
  onEvent: PodEvent,
): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(`${server}/api/v1/namespaces/${namespace}/pods`);
  url.search = new URLSearchParams({ ...query, watch: 'true' }).toString();
  const init: RequestInit = await kc.applyToFetchOptions({ method: 'GET' });
  // The same AbortSignal; @types/node-fetch only describes it with an older DOM typing.
  init.signal = signal as unknown as RequestInit['signal'];
  const response = await fetch(url.toString(), init);
  if (response.status !== 200) {
    throw Object.assign(new Error(`watching pods: HTTP ${String(response.status)}`), {
      code: response.status,
    });
  }
  // Loaded by the restart that watches, not by every run.
  const { createInterface } = await import('node:readline');
  for await (const line of createInterface({ input: response.body, crlfDelay: Infinity })) {
    let event: { type?: string; object?: V1Pod };
    try {
      event = JSON.parse(line) as { type?: string; object?: V1Pod };
    } catch {
      continue;
    }
    if (event.type !== undefined && event.object !== undefined) onEvent(event.type, event.object);
  }
}
