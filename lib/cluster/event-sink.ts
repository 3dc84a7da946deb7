// Kubernetes Events on the pool, so `kubectl describe ipaddresspool` and `kubectl get events` show
// what metallb-dyn6 did and why. Best effort: a sync never fails because an Event could not be written.
import { hostname } from 'node:os';
import { CoreV1Api } from '@kubernetes/client-node';
import { fail, ok, type Result } from '../errors/result.js';
import { excerpt } from '../text/excerpt.js';
import type { ApiClients } from './api-clients.js';
import { describeApiError } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import type { EventSink, EventSubject, EventType, PoolKind } from './ports.js';

export const COMPONENT = 'metallb-dyn6';

/**
 * The same Event (reason and message) at most once per window in one process: a failing source
 * called in a loop must not flood `kubectl get events`. A CronJob's runs are minutes apart anyway.
 */
export class EventRateLimit {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly windowMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this Event may be recorded now (and counts it). */
  admit(reason: string, message: string): boolean {
    const key = `${reason}\n${message}`;
    const now = this.now();
    const previous = this.last.get(key);
    if (previous !== undefined && now - previous < this.windowMs) return false;
    this.last.set(key, now);
    return true;
  }
}

/** Where Kubernetes puts the Events of cluster-scoped objects (as `kubectl describe` looks them up). */
const CLUSTER_SCOPED_EVENTS = 'default';

export class KubeEventSink implements EventSink {
  private readonly core: CoreV1Api;

  /** `pool`: the pool's kind, read at each Event (a pool resource may learn its version on its first read). */
  constructor(
    clients: ApiClients,
    private readonly counter: ApiRequests,
    private readonly limit: EventRateLimit,
    private readonly pool: { readonly kind: PoolKind },
  ) {
    this.core = clients.get(CoreV1Api);
  }

  async record(
    subject: EventSubject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<Result<void>> {
    const { name, namespace, uid } = subject;
    if (!this.limit.admit(reason, message)) return ok(undefined);
    const now = new Date();
    const { apiVersion, kind } = this.pool.kind;
    const eventNamespace = namespace ?? CLUSTER_SCOPED_EVENTS;
    try {
      await this.counter.track(() =>
        this.core.createNamespacedEvent({
          namespace: eventNamespace,
          body: {
            metadata: { generateName: `${name}.`, namespace: eventNamespace },
            involvedObject: {
              apiVersion,
              kind,
              name,
              ...(namespace === undefined ? {} : { namespace }),
              ...(uid === undefined ? {} : { uid }),
            },
            type,
            reason,
            // 1 KiB, events.k8s.io's limit for a note: cut by bytes, between characters, saying so.
            message: excerpt(message, 1024),
            source: { component: COMPONENT },
            reportingComponent: COMPONENT,
            reportingInstance: hostname(),
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
      );
      return ok(undefined);
    } catch (error) {
      return fail(
        describeApiError(
          `recording an Event on ${kind} ${namespace === undefined ? name : `${namespace}/${name}`}`,
          error,
        ).message,
      );
    }
  }
}
