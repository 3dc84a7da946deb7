// A lock across jest's worker processes, for tests that must not overlap on the shared cluster:
// MetalLB's real controller claims every LoadBalancer Service in it, so the files that create
// LoadBalancer Services take turns. mkdir is atomic: whoever creates the folder holds the lock.
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from '@jest/globals';
import path from 'node:path';
import { sharedCluster } from '../../devcluster/shared-cluster.js';

export const LOAD_BALANCER_SERVICES = 'load-balancer-services';

/** Waits for the lock `name` and returns its release. */
export async function exclusive(name: string, timeoutMs = 20 * 60_000): Promise<() => void> {
  const dir = path.join(sharedCluster().runDir, 'locks', name);
  mkdirSync(path.dirname(dir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      return () => {
        rmSync(dir, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline)
        throw new Error(`waited ${String(timeoutMs / 1000)} s for the lock ${dir}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
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
