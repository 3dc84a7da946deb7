// One isolated "home cluster" per test: MetalLB in its own namespace, a pool, and the service
// account with exactly the Role the deployment manifests ship, acting through a real token.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CoreV1Api,
  loadYaml,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
  type V1PolicyRule,
  type V1Role,
} from '@kubernetes/client-node';
import { ApiClients } from '../lib/cluster/api-clients.js';
import { KubePoolResource } from '../lib/cluster/pool-resource.js';
import { EventRateLimit } from '../lib/cluster/event-sink.js';
import { backendFor } from '../lib/cluster/backends.js';
import { kubeSyncTarget } from '../lib/sync/syncer.js';
import { ApiRequests, requestLimits } from '../lib/cluster/api-requests.js';
import type { SyncTarget } from '../lib/sync/sync-once.js';
import { REPO_ROOT } from './binaries.js';
import { kubeConfigFor, kubeconfigYaml } from './kubeconfig.js';
import {
  createPool,
  installMetalLB,
  METALLB_SELECTOR,
  readPool,
  type PoolObject,
} from './metallb-fixture.js';
import {
  createTestNamespace,
  serviceAccountWithRole,
  sharedCluster,
  sharedHandle,
  type ClusterHandle,
} from './shared-cluster.js';

/** The home's prefixes: the one the pool starts on, and the one the ISP moves it to. */
export const SUBNET_OLD = '2a02:8071:1234:5600';
export const SUBNET_NEW = '2a02:8071:1234:56cd';
/** The pool entry metallb-dyn6 owns in `subnet` with the usual host range ::1000-::1999. */
export const range = (subnet: string) => `${subnet}::1000-${subnet}::1999`;

/** The rules of the Role in deploy/base, aimed at a test's pool. */
export function shippedRoleRules(pool: string): V1PolicyRule[] {
  const role = loadYaml<V1Role>(readFileSync(path.join(REPO_ROOT, 'deploy/role/role.yaml'), 'utf8'));
  const rules = role.rules ?? [];
  for (const rule of rules) if (rule.resourceNames !== undefined) rule.resourceNames = [pool];
  return rules;
}

/** Binds the ClusterRole of deploy/components/keep-host-parts to the home's service account. */
export async function grantKeepHostParts(
  home: HomeCluster,
  cluster: ClusterHandle = sharedHandle(),
): Promise<void> {
  const file = path.join(REPO_ROOT, 'deploy/components/keep-host-parts/clusterrole.yaml');
  const role = loadYaml<V1ClusterRole>(readFileSync(file, 'utf8'));
  const name = `metallb-dyn6-service-pinner-${home.namespace}`;
  const rbac = cluster.admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name }, rules: role.rules ?? [] } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'metallb-dyn6', namespace: home.namespace }],
    },
  });
  // The authorizer learns of a binding from its informer: wait until the account may list.
  const core = kubeConfigFor(cluster.access, 'sa', home.token).makeApiClient(CoreV1Api);
  for (let attempt = 0; ; attempt++) {
    try {
      await core.listServiceForAllNamespaces({ limit: 1 });
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface HomeCluster {
  namespace: string;
  pool: string;
  kubeconfigPath: string;
  username: string;
  token: string;
  readPool(): Promise<PoolObject>;
  /** Environment for the CLI: the Rust tool's variables aimed at this namespace and pool. */
  env(extra?: Record<string, string>): Record<string, string>;
}

export interface HomeClusterOptions {
  metallbVersion?: string;
  addresses?: string[];
  annotations?: Record<string, string>;
  /** Skip the pool (for "missing pool" tests). */
  noPool?: boolean;
  /** Run MetalLB's real controller of metallbVersion (provisioned beforehand with metallbRelease). */
  realMetalLB?: boolean;
  /** Install MetalLB with its own manifests' labels instead of the Helm chart's. */
  manifestLabels?: boolean;
}

export async function homeCluster(
  prefix: string,
  options: HomeClusterOptions = {},
  cluster: ClusterHandle = sharedHandle(),
): Promise<HomeCluster> {
  const { admin } = cluster;
  const namespace = await createTestNamespace(prefix, admin);
  const pool = 'ipv6-pool';
  await installMetalLB(admin, {
    namespace,
    version: options.metallbVersion ?? 'v0.14.9',
    real: options.realMetalLB === true,
    labels: options.manifestLabels === true ? 'manifests' : 'helm',
  });
  if (options.noPool !== true) {
    await createPool(
      admin,
      namespace,
      pool,
      { addresses: options.addresses ?? ['192.168.178.240/28', range(SUBNET_OLD)] },
      options.annotations,
    );
  }
  const sa = await serviceAccountWithRole(namespace, 'metallb-dyn6', shippedRoleRules(pool), cluster);
  const dir = path.join(cluster.runDir, 'kubeconfigs');
  mkdirSync(dir, { recursive: true });
  const kubeconfigPath = path.join(dir, `${namespace}.yaml`);
  writeFileSync(kubeconfigPath, kubeconfigYaml(cluster.access, sa.username, sa.token), { mode: 0o600 });
  return {
    namespace,
    pool,
    kubeconfigPath,
    username: sa.username,
    token: sa.token,
    readPool: () => readPool(admin, namespace, pool),
    env: (extra = {}) => ({
      KUBECONFIG: kubeconfigPath,
      METALLB_DYN6_HOST_RANGE: '::1000-::1999',
      METALLB_DYN6_METALLB_POOL: pool,
      METALLB_DYN6_METALLB_NAMESPACE: namespace,
      METALLB_DYN6_SOURCE: `static:${SUBNET_NEW}::9`,
      METALLB_DYN6_SOURCE_RETRIES: '0',
      // `run` and `serve` listen: any free port, so that tests side by side never collide.
      METALLB_DYN6_PORT: '0',
      ...extra,
    }),
  };
}

/** API clients acting as the home's service account (the shipped Role), and their request counter. */
export function homeClients(home: HomeCluster): { clients: ApiClients; counter: ApiRequests } {
  return {
    clients: new ApiClients(kubeConfigFor(sharedCluster(), 'sa', home.token)),
    counter: new ApiRequests(requestLimits(10_000, new AbortController().signal)),
  };
}

/** What syncOnce talks to, acting as the home's service account (optionally through a KubePoolResource subclass). */
export function syncTargetFor(
  home: HomeCluster,
  poolType: typeof KubePoolResource = KubePoolResource,
): SyncTarget {
  const { clients, counter } = homeClients(home);
  const place = { pool: { namespace: home.namespace, name: home.pool }, labelSelectors: [METALLB_SELECTOR] };
  const metallb = backendFor('metallb', clients, place, counter);
  const backend = { ...metallb, pool: new poolType(clients, place.pool, counter) };
  return kubeSyncTarget(backend, clients, counter, new EventRateLimit());
}
