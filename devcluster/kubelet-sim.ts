import {
  CoreV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { statusCode } from '../lib/cluster/api-error.js';
import { podReady } from '../lib/cluster/metallb-pods.js';
import { METRICS_PORT_ANNOTATION, type MetalLBRuntime } from './metallb-runtime.js';

/** Namespace annotation: pods started in it from now on never become Ready (a MetalLB that does not come back). */
export const NEVER_READY_ANNOTATION = 'kubelet-sim.metallb-dyn6.test/never-ready';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The node a DaemonSet pod is pinned to through its required node affinity, if any. */
function pinnedNode(pod: V1Pod): string | undefined {
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  for (const term of terms ?? []) {
    for (const field of term.matchFields ?? []) {
      if (field.key === 'metadata.name' && field.operator === 'In' && field.values?.[0] !== undefined) {
        return field.values[0];
      }
    }
  }
  return undefined;
}

export interface KubeletSim {
  stop(): Promise<void>;
}

/** The status of a pod whose containers all run and are ready, as a kubelet reports it. */
function runningStatus(pod: V1Pod, name: string, hostIP: string, podIP: string) {
  const now = new Date().toISOString();
  const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  const containers = pod.spec?.containers ?? [];
  return {
    phase: 'Running',
    hostIP,
    podIP,
    startTime: now,
    conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition),
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image ?? ''}@sha256:${'0'.repeat(64)}`,
      containerID: `containerd://${name}-${c.name}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

class Simulator {
  private readonly core: CoreV1Api;
  private readonly watch: Watch;
  private stopped = false;
  private abort: AbortController | undefined;
  private counter = 0;
  // Pods whose container is starting: later events for them must not start a second one.
  private readonly starting = new Set<string>();

  constructor(
    kc: KubeConfig,
    private readonly runtime?: MetalLBRuntime,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.watch = new Watch(kc);
  }

  private readonly ignoreGone = (error: unknown) => {
    const code = statusCode(error);
    if (code !== 404 && code !== 409 && !this.stopped) console.warn(`kubelet-sim: ${String(error)}`);
  };

  private async bind(pod: V1Pod, name: string, namespace: string): Promise<void> {
    let node = pinnedNode(pod);
    if (node === undefined) {
      const nodes = (await this.core.listNode()).items
        .map((n) => n.metadata?.name ?? '')
        .filter((n) => n !== '');
      if (nodes.length === 0) return;
      node = nodes[this.counter++ % nodes.length] ?? '';
    }
    await this.core.createNamespacedBinding({
      namespace,
      body: { metadata: { name }, target: { kind: 'Node', name: node, apiVersion: 'v1' } },
    });
  }

  private async start(pod: V1Pod, name: string, namespace: string): Promise<void> {
    const ns = await this.core.readNamespace({ name: namespace });
    const annotations = ns.metadata?.annotations ?? {};
    if (annotations[NEVER_READY_ANNOTATION] === 'true') return;
    const started = await this.runtime?.start(pod, annotations);
    if (started?.metricsPort !== undefined) {
      const port = String(started.metricsPort);
      await this.core.patchNamespacedPod(
        { name, namespace, body: { metadata: { annotations: { [METRICS_PORT_ANNOTATION]: port } } } },
        mergePatch,
      );
    }
    const hostIP = started?.podIP ?? '192.0.2.10';
    const podIP = started?.podIP ?? `10.244.0.${(this.counter++ % 250) + 2}`;
    await this.core.patchNamespacedPodStatus(
      { name, namespace, body: { status: runningStatus(pod, name, hostIP, podIP) } },
      mergePatch,
    );
  }

  private async reconcile(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (name === undefined || namespace === undefined) return;
    const uid = pod.metadata?.uid ?? name;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      await this.runtime?.stop(pod);
      await this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    } else if (pod.spec?.nodeName === undefined || pod.spec.nodeName === '') {
      await this.bind(pod, name, namespace);
    } else if (!podReady(pod) && pod.status?.phase !== 'Running' && !this.starting.has(uid)) {
      this.starting.add(uid);
      try {
        await this.start(pod, name, namespace);
      } finally {
        this.starting.delete(uid);
      }
    }
  }

  /** Reconciles every pod event from the given list's version on, until the watch ends. */
  private watchPods(resourceVersion: string | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      void this.watch
        .watch(
          '/api/v1/pods',
          { resourceVersion, allowWatchBookmarks: false },
          (phase, pod: V1Pod) => {
            if (phase !== 'DELETED') this.reconcile(pod).catch(this.ignoreGone);
            else void this.runtime?.stop(pod);
          },
          () => {
            resolve();
          },
        )
        .then(
          (controller) => {
            this.abort = controller;
            if (this.stopped) controller.abort();
          },
          () => {
            resolve();
          },
        );
    });
  }

  async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const list = await this.core.listPodForAllNamespaces();
        await Promise.all(list.items.map((p) => this.reconcile(p).catch(this.ignoreGone)));
        await this.watchPods(list.metadata?.resourceVersion);
      } catch (error) {
        this.ignoreGone(error);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.runtime?.stopAll();
  }
}

/**
 * Stands in for the scheduler and every node's kubelet, which the test control plane lacks: binds
 * new pods to nodes, reports them Running and Ready, and completes the deletion of terminating pods
 * (without it a bound pod would stay Terminating forever). With a MetalLB runtime, controller pods
 * of namespaces that opted in run MetalLB's real controller and are Ready only once it serves.
 */
export function startKubeletSim(kc: KubeConfig, runtime?: MetalLBRuntime): KubeletSim {
  const sim = new Simulator(kc, runtime);
  void sim.loop();
  return { stop: () => sim.stop() };
}
