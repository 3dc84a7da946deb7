// Counting what a burst of runs did to the pool and to MetalLB: the distinct address lists the pool
// took (a watch sees every write, where polling could miss one), and MetalLB restarts in an audit trail.
import { Watch } from '@kubernetes/client-node';
import type { PoolObject } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig } from '../../devcluster/shared-cluster.js';
import type { HomeCluster } from '../../devcluster/home-cluster.js';

/** Every distinct spec.addresses the pool took while the watch ran, after the first. */
export interface AddressWatch {
  /**
   * The changes, once the watch has delivered every write made before this call: a run answers when
   * its write is stored, and the watch event for it may still be on its way.
   */
  settled(): Promise<string[][]>;
  stop(): void;
}

const CATCH_UP_MS = 10_000;

export async function watchAddresses(home: HomeCluster): Promise<AddressWatch> {
  const start = await home.readPool();
  const changes: string[][] = [];
  const seen = new Set([start.metadata.resourceVersion]);
  let last = JSON.stringify(start.spec.addresses);
  const request = await new Watch(adminKubeConfig()).watch(
    `/apis/metallb.io/v1beta1/namespaces/${home.namespace}/ipaddresspools`,
    { resourceVersion: start.metadata.resourceVersion, fieldSelector: `metadata.name=${home.pool}` },
    (phase: string, pool: PoolObject) => {
      seen.add(pool.metadata.resourceVersion);
      const now = JSON.stringify(pool.spec.addresses);
      if (phase === 'MODIFIED' && now !== last) changes.push(pool.spec.addresses);
      last = now;
    },
    () => undefined,
  );
  return {
    settled: async () => {
      const { resourceVersion } = (await home.readPool()).metadata;
      const deadline = Date.now() + CATCH_UP_MS;
      while (!seen.has(resourceVersion)) {
        if (Date.now() > deadline)
          throw new Error(`the pool watch did not reach resourceVersion ${resourceVersion}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return changes;
    },
    stop: () => {
      request.abort();
    },
  };
}

/** How many times MetalLB's pods were deleted, in a user's audit trail. */
export const restarts = (trail: string[]) =>
  trail.filter((t) => t.startsWith('deletecollection pods')).length;
