import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { readAuditEvents, type AuditEvent } from './control-plane.js';
import { kubeConfigFor, type ClusterAccess } from './kubeconfig.js';

export const CLUSTER_ENV = 'METALLB_DYN6_TEST_CLUSTER';

export interface SharedCluster extends ClusterAccess {
  adminKubeconfig: string;
  auditLog: string;
  runDir: string;
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
export async function createTestNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await adminKubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Everything the apiserver recorded for one user, oldest first. */
export function auditEvents(username: string): AuditEvent[] {
  return readAuditEvents(sharedCluster().auditLog, username);
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
  return events.map((e) => {
    const ref = e.objectRef;
    const what = `${ref?.resource ?? '?'}${ref?.subresource === undefined ? '' : `/${ref.subresource}`}`;
    return `${e.verb} ${what} ${String(e.responseStatus?.code)}`;
  });
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
): Promise<ServiceAccountAccess> {
  const admin = adminKubeConfig();
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
  return serviceAccountAccess(namespace, name);
}

/** A kubeconfig for an existing service account, with a fresh TokenRequest token. */
export async function serviceAccountAccess(namespace: string, name: string): Promise<ServiceAccountAccess> {
  const admin = adminKubeConfig();
  const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (token === undefined) throw new Error(`no token issued for ${namespace}/${name}`);
  const username = `system:serviceaccount:${namespace}:${name}`;
  return { kubeConfig: kubeConfigFor(sharedCluster(), name, token), username, token };
}
