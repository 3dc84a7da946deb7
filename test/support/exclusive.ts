// A lock across jest's worker processes, for tests that must not overlap on the shared cluster.
// mkdir is atomic: whoever creates the folder holds the lock.
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from '@jest/globals';
import path from 'node:path';
import { sharedCluster } from '../../devcluster/shared-cluster.js';

// MetalLB's real controller claims every LoadBalancer Service in the cluster, so the files that
// create LoadBalancer Services take turns.
export const LOAD_BALANCER_SERVICES = 'load-balancer-services';

// Replacing a CRD makes the API server start a new watch cache for its objects, and a watch from a
// resourceVersion older than that cache gets 410 Expired: the history it would replay is gone. So
// installing a MetalLB release's CRDs and counting a pool's writes on a watch take turns.
export const METALLB_CRDS = 'metallb-crds';

/** Waits for the lock `name` and returns its release. */
export async function exclusive(name: string, timeoutMs = 20 * 60_000): Promise<() => void> {
  const dir = path.join(sharedCluster().runDir, 'locks', name);
  mkdirSync(path.dirname(dir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      // Released once: a second call must not free the lock its next holder took meanwhile.
      let held = true;
      return () => {
        if (held) rmSync(dir, { recursive: true, force: true });
        held = false;
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline)
        throw new Error(`waited ${String(timeoutMs / 1000)} s for the lock ${dir}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Runs `work` holding the lock `name`. */
export async function holding<T>(name: string, work: () => Promise<T>): Promise<T> {
  const release = await exclusive(name);
  try {
    return await work();
  } finally {
    release();
  }
}

/** Holds the lock `name` for the whole of the describe block it is called in. */
export function exclusiveDuringSuite(name: string): void {
  let release: (() => void) | undefined;
  beforeAll(async () => {
    release = await exclusive(name);
  }, 25 * 60_000);
  afterAll(() => release?.());
}
