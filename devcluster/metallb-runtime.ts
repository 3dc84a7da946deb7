// MetalLB's real controller and speaker, run the way a container runtime would run them for their
// pods: the simulated kubelet asks for a process when it starts a MetalLB pod in a namespace that
// opted in, reports the pod Ready only once the process serves its metrics, and stops the process
// when the pod is deleted, which is exactly what a reload does. Only opted-in namespaces get real
// processes: a MetalLB controller acts on every LoadBalancer Service in the cluster. A speaker runs
// only on a node whose network the test built (a network namespace, see home-network/), where it
// answers neighbour solicitations for the Services' addresses on the node's LAN.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  loadAllYaml,
  type V1ClusterRole,
  type V1Pod,
  type V1Role,
} from '@kubernetes/client-node';
import { statusCode } from '../lib/cluster/api-error.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { provisioned } from './binaries.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

/** Namespace annotation: run the real controller of this MetalLB release (e.g. "v0.13.12") for its controller pods. */
export const REAL_METALLB_ANNOTATION = 'kubelet-sim.metallb-dyn6.test/real-metallb';
/** Pod annotation the simulated kubelet sets: where the real controller serves its Prometheus metrics. */
export const METRICS_PORT_ANNOTATION = 'kubelet-sim.metallb-dyn6.test/metrics-port';

export interface MetalLBRelease {
  version: string;
  controller: string;
  speaker: string;
  crdDir: string;
  rbacDir: string;
}

/** A node with a network of its own: its speaker runs there, as a hostNetwork pod would. */
export interface NodeHost {
  /** Runs a command inside the node's network namespace (prepended to the command line). */
  launcher: string[];
  /** The node's address: the speaker's memberlist and metrics bind to it, and it is the pod's IP. */
  address: string;
}

/** What the kubelet reports of a pod whose process the runtime started. */
export interface StartedPod {
  /** Where the controller serves its metrics on 127.0.0.1. */
  metricsPort?: number;
  /** hostNetwork: the node's address is the pod's. */
  podIP?: string;
}

type Component = 'controller' | 'speaker';

/** The ClusterRole and Role each component's ServiceAccount gets in config/rbac of every release. */
const SHIPPED_ROLES: Record<Component, { clusterRole: string; role: string }> = {
  controller: { clusterRole: 'metallb-system:controller', role: 'controller' },
  speaker: { clusterRole: 'metallb-system:speaker', role: 'pod-lister' },
};

/** The speaker's metrics port inside its node's namespace, as MetalLB's manifests set it. */
const SPEAKER_METRICS_PORT = 7472;

/** Whether a Go toolchain is there to build MetalLB with (PATH or /usr/local/go/bin). */
export function goAvailable(): boolean {
  return existsSync('/usr/local/go/bin/go') || onPath('go') !== undefined;
}

/** Where a program is on this machine's PATH, if it is. */
export function onPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v "$0"', name], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * For tests of programs built from the Go module proxy: runs them when Go is there; otherwise a
 * declared skip saying what to install, and a hard failure under CI=true.
 */
export function goToBuild(what: string, goVersion: string): true | { unavailable: string } {
  if (goAvailable()) return true;
  const why = `no Go toolchain: install Go >= ${goVersion} (PATH or /usr/local/go/bin) to build ${what} from the module proxy`;
  if (process.env['CI'] === 'true') throw new Error(why);
  return { unavailable: why };
}

/** The release whose CRDs the test cluster serves: MetalLB's own, not a copy of ours. */
export const CRD_RELEASE = 'v0.13.12';

const releases = new Map<string, MetalLBRelease>();

/** A MetalLB release built from the Go module proxy on first use (scripts/provision-metallb.sh), then cached. */
export function metallbRelease(version: string): MetalLBRelease {
  let release = releases.get(version);
  if (release === undefined) {
    const dir = provisioned('provision-metallb.sh', [version]);
    release = {
      version,
      controller: path.join(dir, 'controller'),
      speaker: path.join(dir, 'speaker'),
      crdDir: path.join(dir, 'crd'),
      rbacDir: path.join(dir, 'rbac'),
    };
    releases.set(version, release);
  }
  return release;
}

function componentOf(pod: V1Pod): Component | undefined {
  const labels = pod.metadata?.labels ?? {};
  const component = labels['app.kubernetes.io/component'] ?? labels['component'];
  return component === 'controller' || component === 'speaker' ? component : undefined;
}

async function serving(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).ok;
  } catch {
    return false;
  }
}

/** Whether a process in the node's namespace serves `url` (the root namespace cannot reach it). */
function servingIn(host: NodeHost, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const argv = [...host.launcher, 'curl', '-fsS', '-o', '/dev/null', '-m', '1', url];
    execFile(argv[0] ?? 'curl', argv.slice(1), (error) => {
      resolve(error === null);
    });
  });
}

async function waitUntil(
  proc: ManagedProcess,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  for (let waited = 0; !(await ready()); waited += 100) {
    if (!proc.running) throw new Error(`${what} exited: ${proc.tail()}`);
    if (waited > timeoutMs)
      throw new Error(`${what} did not serve within ${String(timeoutMs / 1000)} s: ${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (statusCode(error) !== 409) throw error;
  }
}

/** The real speaker's flags for `pod`, in the node's network. */
function speakerArgs(pod: V1Pod, release: MetalLBRelease, kubeconfig: string, host: NodeHost): string[] {
  return [
    release.speaker,
    `--kubeconfig=${kubeconfig}`,
    `--namespace=${pod.metadata?.namespace ?? ''}`,
    `--node-name=${pod.spec?.nodeName ?? ''}`,
    // 0.14 and later read their own Pod at start; 0.13 has no such flag.
    ...(release.version.startsWith('v0.13.') ? [] : [`--pod-name=${pod.metadata?.name ?? ''}`]),
    `--host=${host.address}`,
    `--port=${String(SPEAKER_METRICS_PORT)}`,
    // Without memberlist, 0.13 and 0.14 never announce in layer 2 (metallb/metallb#2425).
    `--ml-bindaddr=${host.address}`,
    `--ml-labels=${Object.entries(pod.metadata?.labels ?? {})
      .filter(([key]) => key !== 'controller-revision-hash' && key !== 'pod-template-generation')
      .map(([key, value]) => `${key}=${value}`)
      .join(',')}`,
    '--log-level=debug',
  ];
}

/** The ClusterRole and Role MetalLB's release ships for `component`, bound to its ServiceAccount. */
async function bindShippedRoles(
  rbac: RbacAuthorizationV1Api,
  namespace: string,
  release: MetalLBRelease,
  component: Component,
): Promise<void> {
  const shipped = loadAllYaml(readFileSync(path.join(release.rbacDir, 'role.yaml'), 'utf8')) as (
    V1ClusterRole | V1Role
  )[];
  const rules = (kind: string, name: string) => {
    const found = shipped.find((d) => d.kind === kind && d.metadata?.name === name);
    if (found === undefined) throw new Error(`MetalLB ${release.version} ships no ${kind} ${name}`);
    return found.rules ?? [];
  };
  const roles = SHIPPED_ROLES[component];
  const clusterRole = `metallb-dyn6-test:${component}:${release.version}`;
  const subjects = [{ kind: 'ServiceAccount', name: component, namespace }];
  await createIfAbsent(() =>
    rbac.createClusterRole({
      body: { metadata: { name: clusterRole }, rules: rules('ClusterRole', roles.clusterRole) },
    }),
  );
  await createIfAbsent(() =>
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `metallb-dyn6-test:${component}:${namespace}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
        subjects,
      },
    }),
  );
  await createIfAbsent(() =>
    rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: roles.role }, rules: rules('Role', roles.role) },
    }),
  );
  await createIfAbsent(() =>
    rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: roles.role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roles.role },
        subjects,
      },
    }),
  );
}

export class MetalLBRuntime {
  private readonly processes = new Map<string, ManagedProcess>();
  /** Per namespace and component: the kubeconfig file of its service account. */
  private readonly identities = new Map<string, Promise<string>>();
  private readonly hosts = new Map<string, NodeHost>();

  constructor(
    private readonly kubeconfigPath: string,
    private readonly logDir: string,
  ) {}

  /** From now on, the speaker pods bound to `node` run the real speaker in its network. */
  hostNode(node: string, host: NodeHost): void {
    this.hosts.set(node, host);
  }

  /**
   * Starts the real controller or speaker for `pod` when its namespace asked for one (and, for a
   * speaker, its node has a network). Resolves once the process serves, with what the kubelet
   * reports of it; undefined when the pod is not one it runs; throws when the process dies first.
   */
  async start(pod: V1Pod, namespaceAnnotations: Record<string, string>): Promise<StartedPod | undefined> {
    const version = namespaceAnnotations[REAL_METALLB_ANNOTATION];
    const uid = pod.metadata?.uid;
    const namespace = pod.metadata?.namespace;
    const component = componentOf(pod);
    if (version === undefined || uid === undefined || namespace === undefined || component === undefined)
      return undefined;
    const host = this.hosts.get(pod.spec?.nodeName ?? '');
    if (component === 'speaker' && host === undefined) return undefined;
    const release = metallbRelease(version);
    const kubeconfig = await this.identity(namespace, release, component);
    const log = path.join(this.logDir, `metallb-${component}-${namespace}.log`);
    const what = `MetalLB ${component} ${version}`;
    if (component === 'controller') {
      const port = await this.startController(uid, namespace, release, kubeconfig, log, what);
      return { metricsPort: port };
    }
    if (host === undefined) return undefined;
    const metrics = `http://[${host.address}]:${String(SPEAKER_METRICS_PORT)}/metrics`;
    const [launch = 'ip', ...launchArgs] = host.launcher;
    const proc = this.track(
      uid,
      new ManagedProcess(
        `metallb-speaker ${namespace}`,
        launch,
        [...launchArgs, ...speakerArgs(pod, release, kubeconfig, host)],
        log,
      ),
    );
    await waitUntil(proc, what, () => servingIn(host, metrics));
    return { podIP: host.address };
  }

  /** MetalLB's real controller, serving its metrics on a free port: resolves with the port once it serves. */
  private async startController(
    uid: string,
    namespace: string,
    release: MetalLBRelease,
    kubeconfig: string,
    log: string,
    what: string,
  ): Promise<number> {
    const port = await freePort();
    const proc = this.track(
      uid,
      new ManagedProcess(
        `metallb-controller ${namespace}`,
        release.controller,
        [
          `--kubeconfig=${kubeconfig}`,
          `--namespace=${namespace}`,
          `--port=${String(port)}`,
          '--webhook-mode=disabled',
          '--disable-cert-rotation',
          '--log-level=info',
        ],
        log,
      ),
    );
    await waitUntil(proc, what, () => serving(port));
    return port;
  }

  private track(uid: string, proc: ManagedProcess): ManagedProcess {
    this.processes.get(uid)?.killNow();
    this.processes.set(uid, proc);
    return proc;
  }

  private identity(namespace: string, release: MetalLBRelease, component: Component): Promise<string> {
    const key = `${namespace}/${component}`;
    let identity = this.identities.get(key);
    if (identity === undefined) {
      identity = this.componentIdentity(namespace, release, component);
      this.identities.set(key, identity);
    }
    return identity;
  }

  /**
   * The identity a component runs as, as in a real install: its own ServiceAccount bound to the
   * ClusterRole and Role its release ships (config/rbac), so a permission it lacks fails here too.
   */
  private async componentIdentity(
    namespace: string,
    release: MetalLBRelease,
    component: Component,
  ): Promise<string> {
    const admin = new KubeConfig();
    admin.loadFromFile(this.kubeconfigPath);
    const core = admin.makeApiClient(CoreV1Api);
    await bindShippedRoles(admin.makeApiClient(RbacAuthorizationV1Api), namespace, release, component);
    await createIfAbsent(() =>
      core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: component } } }),
    );
    const issued = await core.createNamespacedServiceAccountToken({
      namespace,
      name: component,
      body: { spec: { audiences: [], expirationSeconds: 86_400 } },
    });
    const token = issued.status?.token;
    const cluster = admin.getCurrentCluster();
    if (token === undefined || cluster?.caData === undefined)
      throw new Error(`no token or CA for MetalLB's ${component} in ${namespace}`);
    const file = path.join(this.logDir, `metallb-${component}-${namespace}.kubeconfig`);
    const access = { server: cluster.server, caPem: Buffer.from(cluster.caData, 'base64').toString('utf8') };
    writeFileSync(file, kubeconfigYaml(access, component, token), { mode: 0o600 });
    return file;
  }

  /** The pod is going: its process stops first, as a kubelet stops the container. */
  async stop(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid;
    const proc = uid === undefined ? undefined : this.processes.get(uid);
    if (proc === undefined || uid === undefined) return;
    this.processes.delete(uid);
    await proc.stop(2000);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop(2000)));
    this.processes.clear();
  }
}

/** The folder of a Go module's source, fetched from the module proxy into Go's module cache. */
export function goModuleDir(module: string, version: string): string {
  const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
  const out = execFileSync(go, ['mod', 'download', '-json', `${module}@${version}`], {
    encoding: 'utf8',
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
  });
  return (JSON.parse(out) as { Dir: string }).Dir;
}
