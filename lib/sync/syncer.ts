// Wires a checked configuration to the cluster once; each sync() is one independent run.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.js';
import { ApiClients } from '../cluster/api-clients.js';
import { ClusterNodes } from '../cluster/cluster-nodes.js';
import { MetalLBPods } from '../cluster/metallb-pods.js';
import { OwnedPool } from '../cluster/owned-pool.js';
import { PoolClient } from '../cluster/pool-client.js';
import { EventRateLimit, PoolEvents } from '../cluster/pool-events.js';
import { abortAfter, type AbortTimer } from '../cluster/abort-after.js';
import { ApiRequests, requestLimits } from '../cluster/api-requests.js';
import { ServiceClient } from '../cluster/service-client.js';
import type { Logger } from '../log/logger.js';
import { syncOnce, type SyncRequest } from './sync.js';
import type { SyncResult } from './result.js';

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
        nodes: new ClusterNodes(clients, counter),
        pool: new OwnedPool(new PoolClient(clients, config.pool, counter)),
        metallb: new MetalLBPods(clients, podSet, counter),
        events: new PoolEvents(clients, counter, eventLimit),
        services: new ServiceClient(clients, counter),
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
