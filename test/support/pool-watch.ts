// Counting what a burst of runs did to the pool and to MetalLB: the distinct address lists the pool
// took (a watch sees every write, where polling could miss one), and MetalLB restarts in an audit trail.
import { Watch } from '@kubernetes/client-node';
import type { PoolObject } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig } from '../../devcluster/shared-cluster.js';
import type { HomeCluster } from '../../devcluster/home-cluster.js';
import { exclusive, METALLB_CRDS } from './exclusive.js';

/** Every distinct spec.addresses the pool took while the watch ran, after the first. */
export interface AddressWatch {
  /**
   * The changes, once the watch has delivered every write made before this call: a run answers when
   * its write is stored, and the watch event for it may still be on its way.
   */
  settled(): Promise<string[][]>;
  stop(): void;
}

const CATCH_UP_MS = 20_000;
// A watch that delivers nothing for this long while the pool is ahead of it is opened again from the
// last version it delivered: the API server replays what came after, so no write is lost.
const STALL_MS = 2_000;

/** What the API server sends in an ERROR event: a Status, with an empty metadata and no spec. */
interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/**
 * Watches the pool, holding METALLB_CRDS until stop(): a CRD replaced meanwhile would leave the
 * watch unable to resume from the last version it delivered.
 */
export async function watchAddresses(home: HomeCluster): Promise<AddressWatch> {
  const release = await exclusive(METALLB_CRDS);
  try {
    return await watchHolding(home, release);
  } catch (error) {
    release();
    throw error;
  }
}

async function watchHolding(home: HomeCluster, release: () => void): Promise<AddressWatch> {
  const start = await home.readPool();
  const changes: string[][] = [];
  let last = JSON.stringify(start.spec.addresses);
  let delivered = start.metadata.resourceVersion;
  const seen = new Set([delivered]);
  // How the watch stands (open, opened again, or why it ended), for the error when it never catches
  // up: client-node's Watch reports a refused or broken request only to `done`, never by throwing.
  let state = '';
  let request: AbortController | undefined;
  let generation = 0;

  const open = async () => {
    request?.abort();
    const mine = ++generation;
    state = mine === 1 ? 'it is still open' : `it was opened again ${String(mine - 1)} times and is open`;
    request = await new Watch(adminKubeConfig()).watch(
      `/apis/metallb.io/v1beta1/namespaces/${home.namespace}/ipaddresspools`,
      { resourceVersion: delivered, fieldSelector: `metadata.name=${home.pool}` },
      (phase: string, object: PoolObject | WatchStatus) => {
        if (mine !== generation) return;
        if (!('spec' in object)) {
          state = `the API server sent ${phase} ${String(object.code)} ${object.reason ?? ''}: ${object.message ?? 'no message'}`;
          return;
        }
        delivered = object.metadata.resourceVersion;
        seen.add(delivered);
        const now = JSON.stringify(object.spec.addresses);
        if (phase === 'MODIFIED' && now !== last) changes.push(object.spec.addresses);
        last = now;
      },
      (error: unknown) => {
        if (mine === generation)
          state = error instanceof Error ? `it failed: ${error.message}` : 'the API server closed it';
      },
    );
  };
  await open();

  return {
    settled: async () => {
      const { resourceVersion } = (await home.readPool()).metadata;
      const deadline = Date.now() + CATCH_UP_MS;
      let progress = { at: Date.now(), delivered };
      while (!seen.has(resourceVersion)) {
        if (Date.now() > deadline)
          throw new Error(
            `the pool watch did not reach resourceVersion ${resourceVersion} (last delivered ${delivered}; ${state})`,
          );
        if (delivered !== progress.delivered) progress = { at: Date.now(), delivered };
        else if (Date.now() - progress.at > STALL_MS) {
          await open();
          progress = { at: Date.now(), delivered };
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return changes;
    },
    stop: () => {
      generation++;
      request?.abort();
      release();
    },
  };
}

/** How many times MetalLB's pods were deleted, in a user's audit trail. */
export const restarts = (trail: string[]) =>
  trail.filter((t) => t.startsWith('deletecollection pods')).length;
