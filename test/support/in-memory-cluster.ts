// The cluster a sync talks to, in memory (external-dns's inmemory provider): a pool that keeps a
// resourceVersion and answers 409 to a write at a stale one, MetalLB pods whose replacements a test
// makes Ready or not, and an Event sink. The sync's own code runs unchanged on top: PoolStore, MetalLB,
// planning, retries, reload decisions. Milliseconds per run; the real apiserver suite stays the proof
// end to end.
import type { V1Pod } from '@kubernetes/client-node';
import { ClusterError } from '../../lib/cluster/api-error.js';
import { UnobservedError } from '../../lib/cluster/metallb-pods.js';
import { PoolStore } from '../../lib/cluster/pool-store.js';
import { ConflictError } from '../../lib/cluster/pool-resource.js';
import {
  ServiceConflictError,
  ServiceGoneError,
  ServicePermissionError,
} from '../../lib/cluster/service-resource.js';
import type { LoadBalancerService, PinFields } from '../../lib/plan/host-parts.js';
import { fail, ok, type Result } from '../../lib/errors/result.js';
import type { SyncTarget } from '../../lib/sync/sync-once.js';
import type {
  CycleResult,
  EventSink,
  EventSubject,
  EventType,
  AddressPool,
  MetalLBPods,
  NodeAddresses,
  NodeDirectory,
  PodList,
  PoolKind,
  PoolRef,
  PoolResource,
  ServiceRef,
  ServiceResource,
} from '../../lib/cluster/ports.js';
import { MetalLB } from '../../lib/cluster/metallb.js';
import { CiliumLBIPAM } from '../../lib/cluster/cilium-lbipam.js';
import type { BackendName } from '../../lib/cluster/backends.js';

const copy = <T>(value: T): T => structuredClone(value);

/** Requests the fakes answered, in order, as "verb resource outcome" (the audit trail's shape). */
export type Trail = string[];

/** The pool as each backend names it: MetalLB's namespaced, Cilium's cluster-scoped. */
const POOLS = {
  metallb: {
    ref: { namespace: 'metallb-system', name: 'ipv6-pool' },
    label: 'IPAddressPool metallb-system/ipv6-pool',
    kind: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool' },
  },
  cilium: {
    ref: { name: 'ipv6-pool' },
    label: 'CiliumLoadBalancerIPPool ipv6-pool',
    kind: { apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool' },
  },
} as const satisfies Record<BackendName, { ref: PoolRef; label: string; kind: PoolKind }>;

export class InMemoryPoolResource implements PoolResource {
  readonly ref: PoolRef;
  readonly label: string;
  readonly kind: PoolKind;
  private object: AddressPool;
  /** Errors to throw instead of answering, one per request, in order. */
  readonly failReads: Error[] = [];
  readonly failWrites: Error[] = [];
  /**
   * Writes applied whose answer is lost, one entry each, counted down: the client's retry of the
   * PATCH then meets the resourceVersion it changed itself, and gets 409.
   */
  lostAnswers: boolean[] = [];
  /** Runs when a write arrives, before it is checked: where a test's concurrent writer acts. */
  beforeWrite: ((pool: InMemoryPoolResource) => void) | undefined;

  constructor(
    private readonly trail: Trail,
    addresses: string[],
    annotations: Record<string, string> = {},
    backend: BackendName = 'metallb',
  ) {
    ({ ref: this.ref, label: this.label, kind: this.kind } = POOLS[backend]);
    this.object = {
      metadata: { ...this.ref, resourceVersion: '1', uid: 'pool-uid', annotations },
      spec: { addresses, autoAssign: true },
    };
  }

  /** The pool as stored now. */
  get stored(): AddressPool {
    return copy(this.object);
  }

  /** Someone else's edit: applied as the apiserver would, with a new resourceVersion. */
  edit(change: (pool: AddressPool) => void): void {
    change(this.object);
    this.bump();
  }

  /** Time passes: every claim on the pool (a restart, a Services move) has lapsed. */
  lapseClaims(): void {
    this.edit((pool) => {
      const annotations = pool.metadata.annotations ?? {};
      for (const [name, value] of Object.entries(annotations)) {
        if (!value.startsWith('{')) continue;
        annotations[name] = JSON.stringify({ ...JSON.parse(value), until: '2000-01-01T00:00:00.000Z' });
      }
    });
  }

  read(): Promise<AddressPool> {
    const failure = this.failReads.shift();
    this.trail.push(`get ipaddresspools ${failure === undefined ? 200 : statusOf(failure)}`);
    return failure === undefined ? Promise.resolve(this.stored) : Promise.reject(failure);
  }

  write(
    resourceVersion: string,
    addresses: string[],
    annotations: Record<string, string | null>,
  ): Promise<AddressPool> {
    this.beforeWrite?.(this);
    const failure =
      this.failWrites.shift() ??
      (resourceVersion === this.object.metadata.resourceVersion ? undefined : new ConflictError(this.label));
    this.trail.push(`patch ipaddresspools ${failure === undefined ? 200 : statusOf(failure)}`);
    if (failure !== undefined) return Promise.reject(failure);
    // A JSON merge patch: null removes a key.
    const merged = Object.entries({ ...this.object.metadata.annotations, ...annotations });
    this.object.metadata.annotations = Object.fromEntries(
      merged.filter((entry): entry is [string, string] => entry[1] !== null),
    );
    this.object.spec.addresses = [...addresses];
    this.bump();
    if (this.lostAnswers.shift() === true) {
      this.trail.push('patch ipaddresspools 409');
      return Promise.reject(new ConflictError(this.label));
    }
    return Promise.resolve(this.stored);
  }

  private bump(): void {
    this.object.metadata.resourceVersion = String(Number(this.object.metadata.resourceVersion) + 1);
  }
}

const statusOf = (error: Error) => (error instanceof ClusterError ? String(error.status ?? 0) : 'error');

/**
 * What happens when MetalLB's pods are cycled: their replacements become Ready, they do not (this
 * message), or the wait cannot see them (this cause).
 */
export type CycleOutcome = 'ready' | { fails: string } | { unobserved: string };

export class InMemoryMetalLBPods implements MetalLBPods {
  private pods: V1Pod[];
  private generation = 0;
  /** One outcome per cycle, in order; once used up, replacements become Ready. */
  readonly cycles: CycleOutcome[] = [];
  readonly failLists: Error[] = [];
  /** Runs while the replacements start: another writer's moment. */
  duringCycle: (() => void) | undefined;

  constructor(
    private readonly trail: Trail,
    private readonly version: string,
  ) {
    this.pods = this.replicas();
  }

  list(): Promise<PodList> {
    const failure = this.failLists.shift();
    this.trail.push(`list pods ${failure === undefined ? 200 : statusOf(failure)}`);
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve({ items: copy(this.pods), resourceVersion: String(this.generation) });
  }

  /** MetalLB's pods are gone (uninstalled, or a label selector that matches nothing). */
  removeAll(): void {
    this.pods = [];
  }

  cycle(current: readonly V1Pod[], timeoutMs: number): Promise<CycleResult> {
    if (current.length === 0) return Promise.reject(new ClusterError('no MetalLB pods match the selector'));
    this.trail.push('deletecollection pods 200');
    const outcome = this.cycles.shift() ?? 'ready';
    const deleted = current.map((p) => p.metadata?.name ?? '?');
    this.generation++;
    this.pods = this.replicas();
    this.duringCycle?.();
    if (outcome !== 'ready' && 'unobserved' in outcome) {
      return Promise.reject(
        new UnobservedError(
          `MetalLB's pods were deleted, but their replacements could not be observed: ${outcome.unobserved}`,
        ),
      );
    }
    if (outcome !== 'ready') {
      const seconds = String(timeoutMs / 1000);
      return Promise.reject(
        new ClusterError(`MetalLB did not come back within ${seconds} s: ${outcome.fails}`),
      );
    }
    return Promise.resolve({ deleted, replacements: this.pods.map((p) => p.metadata?.name ?? '?') });
  }

  private replicas(): V1Pod[] {
    return ['controller', 'speaker'].map((component) => ({
      metadata: {
        name: `${component}-${String(this.generation)}`,
        uid: `${component}-${String(this.generation)}`,
      },
      spec: { containers: [{ name: component, image: `quay.io/metallb/${component}:${this.version}` }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    }));
  }
}

export interface RecordedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export class InMemoryEventSink implements EventSink {
  readonly events: RecordedEvent[] = [];
  /** The pool each Event was about, in the same order. */
  readonly subjects: EventSubject[] = [];
  /** Set to make every Event fail with this message. */
  refusal: string | undefined;

  constructor(private readonly trail: Trail) {}

  record(pool: EventSubject, type: EventType, reason: string, message: string): Promise<Result<void>> {
    this.trail.push(`create events ${this.refusal === undefined ? 201 : 403}`);
    if (this.refusal !== undefined) return Promise.resolve(fail(this.refusal));
    this.events.push({ type, reason, message });
    this.subjects.push({
      name: pool.name,
      ...(pool.namespace === undefined ? {} : { namespace: pool.namespace }),
      ...(pool.uid === undefined ? {} : { uid: pool.uid }),
    });
    return Promise.resolve(ok(undefined));
  }
}

/**
 * The cluster's LoadBalancer Services, each with a resourceVersion: a patch at a stale one gets 409,
 * a merge patch's null removes an annotation, and `forbidden` answers every request 403.
 */
export class InMemoryServiceResource implements ServiceResource {
  private readonly objects = new Map<string, LoadBalancerService>();
  private version = 100;
  /** Set to refuse this verb (or every verb) with 403, as RBAC without the component does. */
  forbidden: 'list' | 'patch' | 'all' | undefined;
  /** Errors to throw instead of answering a patch, one per request, in order (undefined: answer it). */
  readonly failPatches: (Error | undefined)[] = [];
  /** Runs when a patch arrives, before it is checked: where a person's concurrent edit lands. */
  beforePatch: ((ref: ServiceRef) => void) | undefined;
  /** How long each patch takes to answer, so that patches overlap. */
  latencyMs = 0;
  /** The most patches that were in flight at once. */
  maxInFlight = 0;
  private inFlight = 0;

  constructor(private readonly trail: Trail) {}

  add(service: Omit<LoadBalancerService, 'resourceVersion'>): void {
    this.objects.set(`${service.namespace}/${service.name}`, {
      ...copy(service),
      resourceVersion: this.next(),
    });
  }

  /** A person's edit: applied with a new resourceVersion. */
  edit(ref: ServiceRef, change: (service: LoadBalancerService) => void): void {
    const service = this.objects.get(`${ref.namespace}/${ref.name}`);
    if (service === undefined) throw new Error(`no Service ${ref.namespace}/${ref.name}`);
    change(service);
    service.resourceVersion = this.next();
  }

  /** Deleted, as `kubectl delete service` does. */
  remove(ref: ServiceRef): void {
    this.objects.delete(`${ref.namespace}/${ref.name}`);
  }

  /** Changed to another type (ClusterIP): listed no more, read as undefined, patched at a new version. */
  retype(ref: ServiceRef): void {
    this.edit(ref, () => undefined);
    this.notLoadBalancer.add(`${ref.namespace}/${ref.name}`);
  }

  private readonly notLoadBalancer = new Set<string>();

  stored(namespace: string, name: string): LoadBalancerService | undefined {
    const service = this.objects.get(`${namespace}/${name}`);
    return service === undefined ? undefined : copy(service);
  }

  list(): Promise<LoadBalancerService[]> {
    if (this.refuses('list')) return this.refuse('list services', 'listing Services in all namespaces');
    this.trail.push('list services 200');
    const listed = [...this.objects.entries()].filter(([key]) => !this.notLoadBalancer.has(key));
    return Promise.resolve(listed.map(([, service]) => copy(service)));
  }

  get(ref: ServiceRef): Promise<LoadBalancerService | undefined> {
    const service = this.stored(ref.namespace, ref.name);
    this.trail.push(`get services ${service === undefined ? 404 : 200}`);
    if (service === undefined) return Promise.reject(new ServiceGoneError(ref));
    return Promise.resolve(this.notLoadBalancer.has(`${ref.namespace}/${ref.name}`) ? undefined : service);
  }

  async patch(ref: ServiceRef, resourceVersion: string, fields: PinFields): Promise<LoadBalancerService> {
    if (this.refuses('patch'))
      return this.refuse('patch services', `patching Service ${ref.namespace}/${ref.name}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      return this.apply(ref, resourceVersion, fields);
    } finally {
      this.inFlight--;
    }
  }

  private apply(ref: ServiceRef, resourceVersion: string, fields: PinFields): LoadBalancerService {
    this.beforePatch?.(ref);
    const service = this.objects.get(`${ref.namespace}/${ref.name}`);
    const failure =
      this.failPatches.shift() ??
      (service?.resourceVersion === resourceVersion ? undefined : new ServiceConflictError(ref));
    this.trail.push(`patch services ${failure === undefined ? 200 : statusOf(failure)}`);
    if (failure !== undefined) throw failure;
    if (service === undefined) throw new ServiceGoneError(ref);
    const merged = Object.entries({ ...service.annotations, ...fields.annotations });
    service.annotations = Object.fromEntries(
      merged.filter((entry): entry is [string, string] => entry[1] !== null),
    );
    if (fields.loadBalancerIP !== undefined) service.loadBalancerIP = fields.loadBalancerIP;
    service.resourceVersion = this.next();
    return copy(service);
  }

  private refuses(verb: 'list' | 'patch'): boolean {
    return this.forbidden === 'all' || this.forbidden === verb;
  }

  private refuse(request: string, action: string): Promise<never> {
    this.trail.push(`${request} 403`);
    return Promise.reject(new ServicePermissionError(action, 'RBAC: access denied'));
  }

  private next(): string {
    this.version++;
    return String(this.version);
  }
}

const NO_NODES: NodeDirectory = {
  addresses: (): Promise<NodeAddresses> => Promise.resolve({ nodes: 0, addresses: [] }),
};

export interface InMemoryCluster {
  target: SyncTarget;
  pool: InMemoryPoolResource;
  metallb: InMemoryMetalLBPods;
  events: InMemoryEventSink;
  services: InMemoryServiceResource;
  /** Every request a sync made, in order. */
  trail: Trail;
}

export function inMemoryCluster(
  addresses: string[],
  options: { annotations?: Record<string, string>; metallbVersion?: string; backend?: BackendName } = {},
): InMemoryCluster {
  const trail: Trail = [];
  const backend = options.backend ?? 'metallb';
  const pool = new InMemoryPoolResource(trail, addresses, options.annotations, backend);
  const metallb = new InMemoryMetalLBPods(trail, options.metallbVersion ?? 'v0.13.12');
  const events = new InMemoryEventSink(trail);
  const services = new InMemoryServiceResource(trail);
  const target: SyncTarget = {
    nodes: NO_NODES,
    pool: new PoolStore(pool),
    loadBalancer: backend === 'cilium' ? new CiliumLBIPAM() : new MetalLB(metallb),
    events,
    services,
    counter: {
      get count() {
        return trail.length;
      },
    },
  };
  return { target, pool, metallb, events, services, trail };
}
