import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { readAuditEvents, type AuditEvent } from './control-plane.js';
import { kubeConfigFor, type ClusterAccess } from './kubeconfig.js';

export const CLUSTER_ENV = 'METALLB_DYN6_TEST_CLUSTER';
/** Set by global setup once it has built the CLI bundle (dist/bundle/cli.mjs) for this jest run. */
export const CLI_BUNDLED_ENV = 'METALLB_DYN6_TEST_CLI_BUNDLED';

export interface SharedCluster extends ClusterAccess {
  adminKubeconfig: string;
  auditLog: string;
  runDir: string;
}

/** A cluster tests act on: the shared one, or one a suite started for itself. */
export interface ClusterHandle {
  access: ClusterAccess;
  admin: KubeConfig;
  runDir: string;
}

/** The shared cluster as a ClusterHandle. */
export function sharedHandle(): ClusterHandle {
  const shared = sharedCluster();
  return { access: shared, admin: adminKubeConfig(), runDir: shared.runDir };
}

/** The control plane that global setup started for this jest run. */
export function sharedCluster(): SharedCluster {
  const raw = process.env[CLUSTER_ENV];
  if (raw === undefined)
    throw new Error(`${CLUSTER_ENV} is not set: run the tests through jest's global setup`);
  return JSON.parse(raw) as SharedCluster;
}

export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(sharedCluster().adminKubeconfig);
  return kc;
}

/** A namespace of its own for one test, so tests can share the control plane. */
export async function createTestNamespace(
  prefix: string,
  admin: KubeConfig = adminKubeConfig(),
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Everything the apiserver recorded for one user, oldest first; throws if there is no audit log. */
export function auditEvents(username: string): AuditEvent[] {
  return readAuditEvents(sharedCluster().auditLog, username);
}

const MARKER_PREFIX = 'audit-marker-';
const isMarker = (e: AuditEvent) =>
  e.objectRef?.resource === 'configmaps' && (e.objectRef.name ?? '').startsWith(MARKER_PREFIX);

/** "verb resource[/subresource] code" */
function describeEvent(e: AuditEvent): string {
  const ref = e.objectRef;
  const what = `${ref?.resource ?? '?'}${ref?.subresource === undefined ? '' : `/${ref.subresource}`}`;
  return `${e.verb} ${what} ${String(e.responseStatus?.code)}`;
}

/** "verb resource[/subresource] code" for each request of one user, once the log has caught up. */
export async function auditTrail(username: string): Promise<string[]> {
  // Audit events are written as responses complete; give the last one a moment to land.
  let previous = -1;
  let events = auditEvents(username);
  while (events.length !== previous) {
    previous = events.length;
    await new Promise((r) => setTimeout(r, 150));
    events = auditEvents(username);
  }
  return events.filter((e) => !isMarker(e)).map(describeEvent);
}

/** One GET as the token's user; resolves with the status code, whatever it is. */
function getAs(token: string, urlPath: string): Promise<number> {
  const { server, caPem } = sharedCluster();
  return new Promise((resolve, reject) => {
    const req = https.get(
      new URL(urlPath, server),
      { ca: caPem, headers: { Authorization: `Bearer ${token}` }, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
  });
}

/**
 * The user's request trail as auditTrail gives it, read only after a marker request made now with
 * the user's own token (a GET of a ConfigMap no one has, named uniquely) has reached the audit log.
 * That positive control makes "no writes" and exact trails meaningful: the log exists and is being
 * written, it holds everything the user did before the marker, and the username filtered on is the
 * token's real identity. Throws if the marker never shows up. Markers are left out of every trail.
 */
export async function auditSettled(user: { username: string; token: string }): Promise<string[]> {
  const marker = `${MARKER_PREFIX}${randomBytes(6).toString('hex')}`;
  const status = await getAs(user.token, `/api/v1/namespaces/default/configmaps/${marker}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = auditEvents(user.username);
    if (events.some((e) => isMarker(e) && e.objectRef?.name === marker)) {
      return events.filter((e) => !isMarker(e)).map(describeEvent);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the marker request ${marker} (answered ${String(status)}) never reached the audit log ` +
          `${sharedCluster().auditLog} as user ${user.username}: the log is not being written, or the token is someone else's`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ServiceAccountAccess {
  kubeConfig: KubeConfig;
  username: string;
  token: string;
}

/**
 * A service account with the given Role bound, and a kubeconfig that acts as it through a real
 * TokenRequest token — so RBAC is enforced by the apiserver, not by us.
 */
export async function serviceAccountWithRole(
  namespace: string,
  name: string,
  rules: V1PolicyRule[],
  cluster: ClusterHandle = sharedHandle(),
): Promise<ServiceAccountAccess> {
  const { admin } = cluster;
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  return serviceAccountAccess(namespace, name, cluster);
}

/** A kubeconfig for an existing service account, with a fresh TokenRequest token. */
export async function serviceAccountAccess(
  namespace: string,
  name: string,
  cluster: ClusterHandle = sharedHandle(),
): Promise<ServiceAccountAccess> {
  const request = await cluster.admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (token === undefined) throw new Error(`no token issued for ${namespace}/${name}`);
  const username = `system:serviceaccount:${namespace}:${name}`;
  return { kubeConfig: kubeConfigFor(cluster.access, name, token), username, token };
}
