// Wires a checked configuration to the cluster once; each sync() is one independent run.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.js';
import { ApiClients } from '../cluster/api-clients.js';
import { chooseBackend, poolNameFor, type Backend } from '../cluster/backends.js';
import { KubeNodeDirectory } from '../cluster/node-directory.js';
import { PoolStore } from '../cluster/pool-store.js';
import { EventRateLimit, KubeEventSink } from '../cluster/event-sink.js';
import { abortAfter, type AbortTimer } from '../cluster/abort-after.js';
import { ApiRequests, requestLimits } from '../cluster/api-requests.js';
import { KubeServiceResource } from '../cluster/service-resource.js';
import type { Logger } from '../log/logger.js';
import { syncOnce, type SyncRequest, type SyncTarget } from './sync-once.js';
import type { SyncResult } from './result.js';
import { startReport } from './run-report.js';
import { publishOnce } from './publish-once.js';
import { KubeRecordResource } from '../cluster/record-resource.js';

export interface Syncer {
  /** One run, ended by --deadline or by `stop` (a signal to the process) at the latest. */
  sync(request?: SyncRequest, stop?: AbortSignal): Promise<SyncResult>;
}

/** NPTv6 mode's Events are on the Services it publishes. */
const SERVICE_EVENTS = { kind: { apiVersion: 'v1', kind: 'Service' } };

export function createSyncer(config: Config, kc: KubeConfig, log: Logger): Syncer {
  // One connection pool for every sync of this process (warm functions, `run`).
  const clients = new ApiClients(kc);
  const eventLimit = new EventRateLimit();
  return {
    async sync(request = {}, stop) {
      const deadline = runDeadline(config.deadlineMs, stop);
      const counter = new ApiRequests(requestLimits(config.requestTimeoutMs, deadline.signal));
      try {
        if (config.nptv6 !== undefined) {
          const target = {
            nodes: new KubeNodeDirectory(clients, counter),
            services: new KubeServiceResource(clients, counter),
            events: new KubeEventSink(clients, counter, eventLimit, SERVICE_EVENTS),
            counter,
            ...(config.nptv6.records === 'dnsendpoint'
              ? { records: new KubeRecordResource(clients, counter) }
              : {}),
          };
          const settings = { ...config, nptv6: config.nptv6 };
          return await publishOnce(settings, config.source, target, log, {
            ...request,
            stop: deadline.signal,
          });
        }
        const chosen = await chooseBackend(config.backend, clients, config, counter);
        if (!chosen.ok) {
          return startReport(poolNameFor(config.backend, config), counter, log, request.trigger).failed(
            'read',
            chosen.error,
            {},
          );
        }
        const { backend, why } = chosen.value;
        if (why !== undefined) log.info(`backend ${backend.name}`, { why });
        const target = kubeSyncTarget(backend, clients, counter, eventLimit);
        return await syncOnce(config, config.source, target, log, { ...request, stop: deadline.signal });
      } finally {
        deadline.clear();
      }
    },
  };
}

/** What a run talks to: the backend's pool and load balancer, and the cluster around them. */
export function kubeSyncTarget(
  backend: Backend,
  clients: ApiClients,
  counter: ApiRequests,
  eventLimit: EventRateLimit,
): SyncTarget {
  return {
    nodes: new KubeNodeDirectory(clients, counter),
    pool: new PoolStore(backend.pool),
    loadBalancer: backend.loadBalancer,
    events: new KubeEventSink(clients, counter, eventLimit, backend.pool),
    services: new KubeServiceResource(clients, counter),
    counter,
  };
}

/** Ends the run at its deadline, or at `stop` when that comes first. */
function runDeadline(ms: number, stop: AbortSignal | undefined): AbortTimer {
  const reason = new Error(
    `the run's deadline of ${String(ms / 1000)} s passed (--deadline / METALLB_DYN6_DEADLINE)`,
  );
  return abortAfter(ms, reason, stop === undefined ? [] : [stop]);
}
