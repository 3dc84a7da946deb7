// Wires a checked configuration to the cluster once; each sync() is one independent run.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.js';
import { ApiClients } from '../cluster/api-clients.js';
import { KubeNodeDirectory } from '../cluster/node-directory.js';
import { KubeMetalLBPods } from '../cluster/metallb-pods.js';
import { PoolStore } from '../cluster/pool-store.js';
import { KubePoolResource } from '../cluster/pool-resource.js';
import { EventRateLimit, KubeEventSink } from '../cluster/event-sink.js';
import { abortAfter, type AbortTimer } from '../cluster/abort-after.js';
import { ApiRequests, requestLimits } from '../cluster/api-requests.js';
import { KubeServiceResource } from '../cluster/service-resource.js';
import type { Logger } from '../log/logger.js';
import { syncOnce, type SyncRequest } from './sync-once.js';
import type { SyncResult } from './result.js';
import { MetalLB } from '../cluster/metallb.js';

export interface Syncer {
  /** One run, ended by --deadline or by `stop` (a signal to the process) at the latest. */
  sync(request?: SyncRequest, stop?: AbortSignal): Promise<SyncResult>;
}

export function createSyncer(config: Config, kc: KubeConfig, log: Logger): Syncer {
  const podSet = { namespace: config.pool.namespace, labelSelectors: config.labelSelectors };
  // One connection pool for every sync of this process (warm functions, `run`).
  const clients = new ApiClients(kc);
  const eventLimit = new EventRateLimit();
  return {
    async sync(request = {}, stop) {
      const deadline = runDeadline(config.deadlineMs, stop);
      const counter = new ApiRequests(requestLimits(config.requestTimeoutMs, deadline.signal));
      const target = {
        nodes: new KubeNodeDirectory(clients, counter),
        pool: new PoolStore(new KubePoolResource(clients, config.pool, counter)),
        loadBalancer: new MetalLB(new KubeMetalLBPods(clients, podSet, counter)),
        events: new KubeEventSink(clients, counter, eventLimit),
        services: new KubeServiceResource(clients, counter),
        counter,
      };
      try {
        return await syncOnce(config, config.source, target, log, { ...request, stop: deadline.signal });
      } finally {
        deadline.clear();
      }
    },
  };
}

/** Ends the run at its deadline, or at `stop` when that comes first. */
function runDeadline(ms: number, stop: AbortSignal | undefined): AbortTimer {
  const reason = new Error(
    `the run's deadline of ${String(ms / 1000)} s passed (--deadline / METALLB_DYN6_DEADLINE)`,
  );
  return abortAfter(ms, reason, stop === undefined ? [] : [stop]);
}
