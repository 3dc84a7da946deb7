// The settings and prefixes the sync tests share, on the real apiserver and on the in-memory fake.
import type { KubePoolResource } from '../../lib/cluster/pool-resource.js';
import { jsonLogger } from '../../lib/log/logger.js';
import { parseHostRanges } from '../../lib/prefix/host-range.js';
import { parseAnswer } from '../../lib/source/answer.js';
import { staticSource } from '../../lib/source/static.js';
import { syncOnce, type SyncSettings } from '../../lib/sync/sync-once.js';
import { syncTargetFor, type HomeCluster } from '../../devcluster/home-cluster.js';

export { range, SUBNET_NEW, SUBNET_OLD } from '../../devcluster/home-cluster.js';
import { SUBNET_NEW, SUBNET_OLD } from '../../devcluster/home-cluster.js';

/** A person's IPv4 range in the pool: never ours. */
export const V4 = '192.168.178.240/28';
/** An address with this host part on the old prefix, and on the new one. */
export const OLD = (host: string) => `${SUBNET_OLD}::${host}`;
export const NEW = (host: string) => `${SUBNET_NEW}::${host}`;

/** Settings for calling syncOnce directly: the host range every test uses, reload as given. */
export function syncSettings(overrides: Partial<SyncSettings> = {}): SyncSettings {
  const hosts = parseHostRanges('::1000-::1999');
  if (!hosts.ok) throw new Error(hosts.error);
  return {
    hosts: hosts.value,
    detectDeadlineMs: 10_000,
    policy: { delegatedLength: 64, shortestAnswer: 48 },
    reload: 'auto',
    reloadTimeoutMs: 10_000,
    dryRun: false,
    keepHostParts: 'none',
    ...overrides,
  };
}

/** One sync of `home`'s pool onto SUBNET_NEW, through `poolType` (a KubePoolResource that races us). */
export function syncOntoNewPrefix(home: HomeCluster, poolType: typeof KubePoolResource) {
  return syncOnce(
    syncSettings(),
    staticSource(parseAnswer('static', `${SUBNET_NEW}::9`)),
    syncTargetFor(home, poolType),
    jsonLogger('error'),
  );
}
