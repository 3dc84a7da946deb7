// The settings and prefixes the sync tests share, on the real apiserver and on the in-memory fake.
import { parseHostRanges } from '../../lib/prefix/host-range.js';
import type { SyncSettings } from '../../lib/sync/sync-once.js';

export { range, SUBNET_NEW, SUBNET_OLD } from '../../devcluster/home-cluster.js';

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
