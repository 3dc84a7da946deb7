// MetalLB's real controller, run the way a container runtime would run it for its pod: the simulated
// kubelet asks for a process when it starts a controller pod in a namespace that opted in, reports
// the pod Ready only once the process serves its metrics, and stops the process when the pod is
// deleted, which is exactly what a reload does. Only opted-in namespaces get real processes: a
// MetalLB controller acts on every LoadBalancer Service in the cluster.
import { execFileSync } from 'node:child_process';
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
import { statusCode } from '../../lib/cluster/api-error.js';
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
  crdDir: string;
  rbacDir: string;
}

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
      crdDir: path.join(dir, 'crd'),
      rbacDir: path.join(dir, 'rbac'),
    };
    releases.set(version, release);
  }
  return release;
}

const isController = (pod: V1Pod) =>
  pod.metadata?.labels?.['app.kubernetes.io/component'] === 'controller' ||
  pod.metadata?.labels?.['component'] === 'controller';

async function serving(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).ok;
  } catch {
    return false;
  }
}

async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (statusCode(error) !== 409) throw error;
  }
}

export class MetalLBRuntime {
  private readonly processes = new Map<string, ManagedProcess>();
  /** Per namespace: the kubeconfig file of its controller's service account. */
  private readonly identities = new Map<string, Promise<string>>();

  constructor(
    private readonly kubeconfigPath: string,
    private readonly logDir: string,
  ) {}

  /**
   * Starts the real controller for `pod` when its namespace asked for one. Resolves with the metrics
   * port once the controller serves, undefined when the pod is not one it runs; throws when the
   * controller dies before it serves.
   */
  async start(pod: V1Pod, namespaceAnnotations: Record<string, string>): Promise<number | undefined> {
    const version = namespaceAnnotations[REAL_METALLB_ANNOTATION];
    const uid = pod.metadata?.uid;
    const namespace = pod.metadata?.namespace;
    if (version === undefined || uid === undefined || namespace === undefined || !isController(pod))
      return undefined;
    const release = metallbRelease(version);
    let identity = this.identities.get(namespace);
    if (identity === undefined) {
      identity = this.controllerIdentity(namespace, release);
      this.identities.set(namespace, identity);
    }
    const kubeconfig = await identity;
    const port = await freePort();
    const proc = new ManagedProcess(
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
      path.join(this.logDir, `metallb-controller-${namespace}.log`),
    );
    this.processes.get(uid)?.killNow();
    this.processes.set(uid, proc);
    for (let waited = 0; !(await serving(port)); waited += 100) {
      if (!proc.running) throw new Error(`MetalLB controller ${version} exited: ${proc.tail()}`);
      if (waited > 60_000)
        throw new Error(`MetalLB controller ${version} did not serve within 60 s: ${proc.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return port;
  }

  /**
   * The identity the controller runs as, as in a real install: its own ServiceAccount bound to the
   * ClusterRole and Role its release ships (config/rbac), so a permission it lacks fails here too.
   */
  private async controllerIdentity(namespace: string, release: MetalLBRelease): Promise<string> {
    const admin = new KubeConfig();
    admin.loadFromFile(this.kubeconfigPath);
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const shipped = loadAllYaml(readFileSync(path.join(release.rbacDir, 'role.yaml'), 'utf8')) as (
      V1ClusterRole | V1Role
    )[];
    const rules = (kind: string, name: string) => {
      const found = shipped.find((d) => d.kind === kind && d.metadata?.name === name);
      if (found === undefined) throw new Error(`MetalLB ${release.version} ships no ${kind} ${name}`);
      return found.rules ?? [];
    };
    const clusterRole = `metallb-dyn6-test:controller:${release.version}`;
    const subjects = [{ kind: 'ServiceAccount', name: 'controller', namespace }];
    await createIfAbsent(() =>
      rbac.createClusterRole({
        body: { metadata: { name: clusterRole }, rules: rules('ClusterRole', 'metallb-system:controller') },
      }),
    );
    await createIfAbsent(() =>
      rbac.createClusterRoleBinding({
        body: {
          metadata: { name: `metallb-dyn6-test:controller:${namespace}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
          subjects,
        },
      }),
    );
    await createIfAbsent(() =>
      rbac.createNamespacedRole({
        namespace,
        body: { metadata: { name: 'controller' }, rules: rules('Role', 'controller') },
      }),
    );
    await createIfAbsent(() =>
      rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: 'controller' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'controller' },
          subjects,
        },
      }),
    );
    await createIfAbsent(() =>
      core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'controller' } } }),
    );
    const issued = await core.createNamespacedServiceAccountToken({
      namespace,
      name: 'controller',
      body: { spec: { audiences: [], expirationSeconds: 86_400 } },
    });
    const token = issued.status?.token;
    const cluster = admin.getCurrentCluster();
    if (token === undefined || cluster?.caData === undefined)
      throw new Error(`no token or CA for MetalLB's controller in ${namespace}`);
    const file = path.join(this.logDir, `metallb-controller-${namespace}.kubeconfig`);
    const access = { server: cluster.server, caPem: Buffer.from(cluster.caData, 'base64').toString('utf8') };
    writeFileSync(file, kubeconfigYaml(access, 'controller', token), { mode: 0o600 });
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
