// Wires a checked configuration to the cluster once; each sync() is one independent run.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.js';
import { ApiClients } from '../cluster/api-clients.js';
import { ClusterNodes } from '../cluster/cluster-nodes.js';
import { MetalLBPods } from '../cluster/metallb-pods.js';
import { OwnedPool } from '../cluster/owned-pool.js';
import { PoolClient } from '../cluster/pool-client.js';
import { PoolEvents } from '../cluster/pool-events.js';
import { RequestCounter } from '../cluster/request-counter.js';
import type { Logger } from '../log/logger.js';
import { syncOnce, type SyncRequest } from './sync.js';
import type { SyncResult } from './result.js';

export interface Syncer {
  sync(request?: SyncRequest): Promise<SyncResult>;
}

export function createSyncer(config: Config, kc: KubeConfig, log: Logger): Syncer {
  const podSet = { namespace: config.pool.namespace, labelSelectors: config.labelSelectors };
  // One connection pool for every sync of this process (warm functions, `run`).
  const clients = new ApiClients(kc);
  return {
    sync(request = {}) {
      const counter = new RequestCounter();
      const target = {
        nodes: new ClusterNodes(clients, counter),
        pool: new OwnedPool(new PoolClient(clients, config.pool, counter)),
        metallb: new MetalLBPods(clients, podSet, counter),
        events: new PoolEvents(clients, counter),
        counter,
      };
      return syncOnce(config, config.source, target, log, request);
    },
  };
}
