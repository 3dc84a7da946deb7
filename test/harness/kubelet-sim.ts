import {
  CoreV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { statusCode } from '../../lib/cluster/api-error.js';
import { podReady } from '../../lib/cluster/metallb-pods.js';
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

/**
 * Stands in for the scheduler and every node's kubelet, which the test control plane lacks: binds
 * new pods to nodes, reports them Running and Ready, and completes the deletion of terminating pods
 * (without it a bound pod would stay Terminating forever). With a MetalLB runtime, controller pods
 * of namespaces that opted in run MetalLB's real controller and are Ready only once it serves.
 */
export function startKubeletSim(kc: KubeConfig, runtime?: MetalLBRuntime): KubeletSim {
  const core = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  const state = { stopped: false };
  let abort: AbortController | undefined;
  let counter = 0;
  // Pods whose container is starting: later events for them must not start a second one.
  const starting = new Set<string>();

  const ignoreGone = (error: unknown) => {
    const code = statusCode(error);
    if (code !== 404 && code !== 409 && !state.stopped) console.warn(`kubelet-sim: ${String(error)}`);
  };

  async function bind(pod: V1Pod, name: string, namespace: string): Promise<void> {
    let node = pinnedNode(pod);
    if (node === undefined) {
      const nodes = (await core.listNode()).items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '');
      if (nodes.length === 0) return;
      node = nodes[counter++ % nodes.length] ?? '';
    }
    await core.createNamespacedBinding({
      namespace,
      body: { metadata: { name }, target: { kind: 'Node', name: node, apiVersion: 'v1' } },
    });
  }

  async function start(pod: V1Pod, name: string, namespace: string): Promise<void> {
    const ns = await core.readNamespace({ name: namespace });
    const annotations = ns.metadata?.annotations ?? {};
    if (annotations[NEVER_READY_ANNOTATION] === 'true') return;
    const started = await runtime?.start(pod, annotations);
    if (started?.metricsPort !== undefined) {
      const port = String(started.metricsPort);
      await core.patchNamespacedPod(
        { name, namespace, body: { metadata: { annotations: { [METRICS_PORT_ANNOTATION]: port } } } },
        mergePatch,
      );
    }
    const now = new Date().toISOString();
    const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
    const containers = pod.spec?.containers ?? [];
    await core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        body: {
          status: {
            phase: 'Running',
            hostIP: started?.podIP ?? '192.0.2.10',
            podIP: started?.podIP ?? `10.244.0.${(counter++ % 250) + 2}`,
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
          },
        },
      },
      mergePatch,
    );
  }

  async function reconcile(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (name === undefined || namespace === undefined) return;
    const uid = pod.metadata?.uid ?? name;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      await runtime?.stop(pod);
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    } else if (pod.spec?.nodeName === undefined || pod.spec.nodeName === '') {
      await bind(pod, name, namespace);
    } else if (!podReady(pod) && pod.status?.phase !== 'Running' && !starting.has(uid)) {
      starting.add(uid);
      try {
        await start(pod, name, namespace);
      } finally {
        starting.delete(uid);
      }
    }
  }

  async function loop(): Promise<void> {
    while (!state.stopped) {
      try {
        const list = await core.listPodForAllNamespaces();
        await Promise.all(list.items.map((p) => reconcile(p).catch(ignoreGone)));
        await new Promise<void>((resolve) => {
          void watch
            .watch(
              '/api/v1/pods',
              { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false },
              (phase, pod: V1Pod) => {
                if (phase !== 'DELETED') reconcile(pod).catch(ignoreGone);
                else void runtime?.stop(pod);
              },
              () => {
                resolve();
              },
            )
            .then(
              (controller) => {
                abort = controller;
                if (state.stopped) controller.abort();
              },
              () => {
                resolve();
              },
            );
        });
      } catch (error) {
        ignoreGone(error);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  void loop();
  return {
    async stop() {
      state.stopped = true;
      abort?.abort();
      await runtime?.stopAll();
    },
  };
}
