import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  loadYaml,
  setHeaderOptions,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { statusCode } from '../lib/cluster/api-error.js';
import { podReady } from '../lib/cluster/metallb-pods.js';
import { REPO_ROOT } from './binaries.js';
import { NEVER_READY_ANNOTATION } from './kubelet-sim.js';
import { REAL_METALLB_ANNOTATION, type MetalLBRelease } from './metallb-runtime.js';

export const METALLB_LABELS = {
  'app.kubernetes.io/name': 'metallb',
  'app.kubernetes.io/instance': 'metallb',
};
export const METALLB_SELECTOR = 'app.kubernetes.io/name=metallb,app.kubernetes.io/instance=metallb';
export const POOL = { group: 'metallb.io', version: 'v1beta1', plural: 'ipaddresspools' } as const;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function poll(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (statusCode(error) !== 409) throw error;
  }
}

/**
 * Waits until the apiserver serves a CRD, which may not exist yet. (`kubectl wait --for=condition=Established` fails
 * outright when it reads the CRD before the apiserver has written any condition.)
 */
export async function established(api: ApiextensionsV1Api, name: string, timeoutMs?: number): Promise<void> {
  await poll(
    `the ${name} CRD to be established`,
    async () => {
      try {
        const current = await api.readCustomResourceDefinition({ name });
        return (
          current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false
        );
      } catch (error) {
        // Not created yet: a controller that installs its own CRDs may still be starting.
        if (statusCode(error) === 404) return false;
        throw error;
      }
    },
    timeoutMs,
  );
}

/** Installs MetalLB's IPAddressPool CRD and waits until the apiserver serves it. */
export async function installPoolCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(
    readFileSync(path.join(REPO_ROOT, 'devcluster/ipaddresspool-crd.yaml'), 'utf8'),
  );
  await createIfAbsent(() => api.createCustomResourceDefinition({ body: crd }));
  await established(api, 'ipaddresspools.metallb.io');
}

/**
 * Installs (or replaces) the CRDs a MetalLB release ships (`only`: those of these plurals), as its
 * controller expects them, and waits until each is served.
 */
export async function installReleaseCrds(
  kc: KubeConfig,
  release: MetalLBRelease,
  only?: readonly string[],
): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const wanted = (file: string) =>
    file.endsWith('.yaml') &&
    (only === undefined || only.some((plural) => file === `metallb.io_${plural}.yaml`));
  for (const file of readdirSync(release.crdDir).filter(wanted)) {
    const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(path.join(release.crdDir, file), 'utf8'));
    const name = crd.metadata?.name ?? '';
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (error) {
      if (statusCode(error) !== 409) throw error;
      const current = await api.readCustomResourceDefinition({ name });
      crd.metadata = { name, resourceVersion: current.metadata?.resourceVersion ?? '' };
      await api.replaceCustomResourceDefinition({ name, body: crd });
    }
    await established(api, name);
  }
}

export interface FixtureNode {
  name: string;
  labels?: Record<string, string>;
  addresses: { type: string; address: string }[];
}

/** Home-lab nodes with SLAAC addresses from a delegated prefix, plus IPv4 and ULA ones. */
export const DEFAULT_NODES: FixtureNode[] = ['a', 'b', 'c'].map((suffix, i) => ({
  name: `node-${suffix}`,
  addresses: [
    { type: 'InternalIP', address: `192.168.178.${String(21 + i)}` },
    { type: 'InternalIP', address: `2a02:8071:1234:5600:${String(21 + i)}0:c0ff:fe00:${String(i + 1)}` },
    { type: 'InternalIP', address: `fd00:1234:5678::${String(21 + i)}` },
    { type: 'Hostname', address: `node-${suffix}` },
  ],
}));

/** Node objects that report Ready, the way a kubelet would register them. */
export async function createNodes(kc: KubeConfig, nodes: FixtureNode[] = DEFAULT_NODES): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const node of nodes) {
    await createIfAbsent(() =>
      core.createNode({
        body: {
          metadata: {
            name: node.name,
            labels: { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', ...node.labels },
          },
        },
      }),
    );
    const now = new Date().toISOString();
    await core.patchNodeStatus(
      {
        name: node.name,
        body: {
          status: {
            addresses: node.addresses,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
            nodeInfo: { kubeletVersion: 'v1.20.2', osImage: 'Debian GNU/Linux 12 (bookworm)' },
          },
        },
      },
      mergePatch,
    );
    // The TaintNodesByCondition admission plugin taints new nodes not-ready; the node lifecycle
    // controller (not run here) lifts the taint once the node reports Ready.
    await core.patchNode({ name: node.name, body: { spec: { taints: null } } }, mergePatch);
  }
}

export interface MetalLBOptions {
  namespace?: string;
  /** MetalLB release, e.g. "v0.13.12" or "v0.14.9"; it decides the controller and speaker image tags. */
  version?: string;
  /** Pods started in the namespace never become Ready (a MetalLB that does not come back). */
  neverReady?: boolean;
  /** The controller pod runs MetalLB's real controller of `version` (see metallb-runtime.ts). */
  real?: boolean;
  /** Whose labels the pods carry: the Helm chart's (default) or MetalLB's own manifests'. */
  labels?: 'helm' | 'manifests';
}

/** The selector that finds the pods of an install with these labels. */
export const selectorFor = (labels: MetalLBOptions['labels']) =>
  labels === 'manifests' ? 'app=metallb' : METALLB_SELECTOR;

function labelsFor(component: string, style: MetalLBOptions['labels']): Record<string, string> {
  return style === 'manifests'
    ? { app: 'metallb', component }
    : { ...METALLB_LABELS, 'app.kubernetes.io/component': component };
}

function podTemplate(component: string, image: string, style: MetalLBOptions['labels']): V1PodTemplateSpec {
  const labels = labelsFor(component, style);
  return {
    metadata: { labels },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: component, image, args: ['--port=7472', '--log-level=info'] }],
    },
  };
}

/**
 * What an install of MetalLB leaves in a namespace: the controller Deployment and the speaker
 * DaemonSet with the Helm chart's labels (or the manifests'). Waits until every MetalLB pod is Ready unless told it never will be.
 */
export async function installMetalLB(kc: KubeConfig, options: MetalLBOptions = {}): Promise<void> {
  const namespace = options.namespace ?? 'metallb-system';
  const version = options.version ?? 'v0.14.9';
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  // What the simulated kubelet reads from the namespace; patched, since the namespace may exist already.
  const annotations = {
    ...(options.neverReady === true ? { [NEVER_READY_ANNOTATION]: 'true' } : {}),
    ...(options.real === true ? { [REAL_METALLB_ANNOTATION]: version } : {}),
  };
  await createIfAbsent(() =>
    core.createNamespace({
      body: { metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    }),
  );
  if (Object.keys(annotations).length > 0)
    await core.patchNamespace({ name: namespace, body: { metadata: { annotations } } }, mergePatch);
  const controller = podTemplate('controller', `quay.io/metallb/controller:${version}`, options.labels);
  const speaker = podTemplate('speaker', `quay.io/metallb/speaker:${version}`, options.labels);
  await createIfAbsent(() =>
    apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: {
          name: 'metallb-controller',
          labels: labelsFor('controller', options.labels),
        },
        spec: {
          replicas: 1,
          selector: { matchLabels: controller.metadata?.labels ?? {} },
          template: controller,
        },
      },
    }),
  );
  await createIfAbsent(() =>
    apps.createNamespacedDaemonSet({
      namespace,
      body: {
        metadata: {
          name: 'metallb-speaker',
          labels: labelsFor('speaker', options.labels),
        },
        spec: { selector: { matchLabels: speaker.metadata?.labels ?? {} }, template: speaker },
      },
    }),
  );
  if (options.neverReady !== true)
    await waitForMetalLBReady(kc, namespace, 60_000, selectorFor(options.labels));
}

/** Waits until the controller and one speaker per node run, all Ready, none terminating. */
export async function waitForMetalLBReady(
  kc: KubeConfig,
  namespace: string,
  timeoutMs = 60_000,
  labelSelector = METALLB_SELECTOR,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const expected = 1 + (await core.listNode()).items.length;
  await poll(
    `MetalLB pods in ${namespace} to be Ready`,
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
      const ready = pods.filter((p) => p.metadata?.deletionTimestamp === undefined && podReady(p));
      return ready.length === expected && pods.length === expected;
    },
    timeoutMs,
  );
}

/** Makes pods started from now on in this namespace stay un-Ready, or lets them become Ready again. */
export async function setPodsNeverReady(
  kc: KubeConfig,
  namespace: string,
  neverReady: boolean,
): Promise<void> {
  await kc.makeApiClient(CoreV1Api).patchNamespace(
    {
      name: namespace,
      body: { metadata: { annotations: { [NEVER_READY_ANNOTATION]: neverReady ? 'true' : null } } },
    },
    mergePatch,
  );
}

/** An IPv6 LoadBalancer Service as a home lab exposes an app (port 80), pinned as given. */
export async function createLoadBalancer(
  kc: KubeConfig,
  namespace: string,
  name: string,
  pin: { annotations?: Record<string, string>; loadBalancerIP?: string } = {},
): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespacedService({
    namespace,
    body: {
      metadata: { name, annotations: pin.annotations ?? {} },
      spec: {
        type: 'LoadBalancer',
        ipFamilyPolicy: 'SingleStack',
        ipFamilies: ['IPv6'],
        selector: { app: name },
        ports: [{ port: 80, protocol: 'TCP' }],
        ...(pin.loadBalancerIP === undefined ? {} : { loadBalancerIP: pin.loadBalancerIP }),
      },
    },
  });
}

/** Unpinned IPv6 LoadBalancer Services, one per name. */
export async function createLoadBalancers(
  kc: KubeConfig,
  namespace: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names) await createLoadBalancer(kc, namespace, name);
}

export interface PoolSpec {
  addresses: string[];
  [field: string]: unknown;
}

export async function createPool(
  kc: KubeConfig,
  namespace: string,
  name: string,
  spec: PoolSpec,
  annotations: Record<string, string> = {},
): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...POOL,
    namespace,
    body: {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name, namespace, annotations },
      spec,
    },
  });
}

export interface PoolObject {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    annotations?: Record<string, string>;
  };
  spec: PoolSpec & { autoAssign?: boolean; avoidBuggyIPs?: boolean };
}

export async function readPool(kc: KubeConfig, namespace: string, name: string): Promise<PoolObject> {
  return (await kc
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ ...POOL, namespace, name })) as PoolObject;
}
