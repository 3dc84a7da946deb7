// What the core asks of the cluster, one port per role, and the data that crosses them. The Kube*
// classes in this folder implement them against the Kubernetes API; the in-memory fake in
// test/support implements them for the sync's unit tests, and the sources and the sync never know
// which one they talk to.
import type { V1Pod } from '@kubernetes/client-node';
import type { Result } from '../errors/result.js';
import type { LoadBalancerService, PinFields } from '../plan/host-parts.js';
import type { RecordPatch } from '../plan/pool-record.js';
import type { DnsRecord, OwnedRecords } from '../plan/dns-records.js';
import type { ReloadStrategy } from '../config/choices.js';
import type { ReloadReport } from '../sync/result.js';

/** A pool by name; without a namespace it is cluster-scoped (Cilium's). */
export interface PoolRef {
  namespace?: string;
  name: string;
}

/**
 * The pool as the sync sees it, whichever load balancer's: the metadata as the API serves it, and
 * its entries as MetalLB writes them (a CIDR or "start-end"), which Cilium's blocks are read as.
 */
export interface AddressPool {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion: string;
    uid?: string;
    annotations?: Record<string, string>;
  };
  spec: { addresses: string[] } & Record<string, unknown>;
}

/** What kind of object a pool is, as Events name their object. */
export interface PoolKind {
  apiVersion: string;
  kind: string;
}

/** The one pool: read it, or merge-patch it at the resourceVersion it had. */
export interface PoolResource {
  readonly ref: PoolRef;
  /** The kind and name, for messages: "IPAddressPool metallb-system/ipv6-pool". */
  readonly label: string;
  /** The served version the last read found (a resource that looks its version up knows it from then on). */
  readonly kind: PoolKind;
  read(): Promise<AddressPool>;
  /** Throws ConflictError when the pool is no longer at `resourceVersion`. */
  write(resourceVersion: string, addresses: string[], annotations: RecordPatch): Promise<AddressPool>;
}

export interface ServiceRef {
  namespace: string;
  name: string;
}

/** The cluster's LoadBalancer Services, for keeping host parts. */
export interface ServiceResource {
  /** Every Service of type LoadBalancer in the cluster. */
  list(): Promise<LoadBalancerService[]>;
  /** undefined: the Service is no longer of type LoadBalancer. Throws ServiceGoneError when deleted. */
  get(ref: ServiceRef): Promise<LoadBalancerService | undefined>;
  /**
   * Throws ServiceConflictError when the Service is no longer at `resourceVersion`, ServiceGoneError
   * when it was deleted.
   */
  patch(ref: ServiceRef, resourceVersion: string, fields: PinFields): Promise<LoadBalancerService>;
}

export interface PodSet {
  namespace: string;
  /** Tried in order; the first that matches any pod is kept for the rest of the run. */
  labelSelectors: readonly string[];
}

export interface CycleResult {
  deleted: string[];
  replacements: string[];
}

export interface PodList {
  items: V1Pod[];
  resourceVersion: string;
}

/**
 * The load balancer that gives Services their addresses from the pool (MetalLB, or Cilium's
 * LB-IPAM): whether it must be restarted to take a changed pool, and how a Service is pinned on it.
 */
export interface LoadBalancer {
  /** For reports and Events: "MetalLB", "Cilium LB-IPAM". */
  readonly name: string;
  /** What taking a changed pool needs, by `strategy` or because the caller forces it. */
  planReload(strategy: ReloadStrategy, force: boolean): Promise<ReloadPlan>;
  /** Carries a plan out: restarts what it names and waits until it is back, within `timeoutMs`. */
  carryOut(plan: ReloadPlan, timeoutMs: number): Promise<ReloadOutcome>;
  /** How Services are pinned; `known`: a plan this run made already, which saves asking again. */
  pinning(known?: ReloadPlan): Promise<Pinning>;
}

/** What the reload will do: nothing (and why), restart these pods, or nothing known (pods unlistable). */
export type ReloadPlan =
  | { kind: 'skip'; report: ReloadReport }
  | { kind: 'cycle'; pods: V1Pod[]; report: ReloadReport }
  | { kind: 'unknown'; report: ReloadReport; failure: string };

export interface ReloadOutcome {
  report: ReloadReport;
  /** Set when the load balancer could not be made to take the addresses. */
  failure?: string;
  /** The pods were restarted, but their replacements could not be seen: nothing to roll back for. */
  unobserved?: boolean;
}

/** The fields a Service is pinned with: the annotations read, in order, and the one new pins get. */
export interface Pinning {
  /** Annotations that pin a Service, in the order the load balancer reads them (spec.loadBalancerIP after). */
  reads: readonly string[];
  writeWith: string;
}

/** MetalLB's pods, and a way to have them replaced. */
export interface MetalLBPods {
  list(): Promise<PodList>;
  /** Deletes `current` and waits until as many replacements are Ready; throws what was missing. */
  cycle(current: readonly V1Pod[], timeoutMs: number): Promise<CycleResult>;
}

export type EventType = 'Normal' | 'Warning';

/** The pool an Event is about (its uid when the pool was read; no namespace when cluster-scoped). */
export interface EventSubject {
  name: string;
  namespace?: string;
  uid?: string;
}

/** Where a sync tells people what it did to the pool. */
export interface EventSink {
  /** Best effort: a failure is returned, for the log, never thrown. */
  record(pool: EventSubject, type: EventType, reason: string, message: string): Promise<Result<void>>;
}

/** How many requests this run sent to the Kubernetes API (reported in the result document). */
export interface RequestCounter {
  readonly count: number;
}

export interface NodeAddresses {
  /** How many nodes matched. */
  nodes: number;
  /** Every address the matching nodes report, as in Node.status.addresses. */
  addresses: { type: string; address: string }[];
}

/** Where the kubernetes-nodes source reads node addresses. */
export interface NodeDirectory {
  addresses(labelSelector?: string): Promise<NodeAddresses>;
}

/** external-dns's DNSEndpoints that metallb-dyn6 owns (--nptv6-records dnsendpoint). */
export interface RecordResource {
  /** Ours, in every namespace (by their label). */
  listOwned(): Promise<OwnedRecords[]>;
  /** Throws when an object of that name exists already (a person's, or ours made meanwhile). */
  create(namespace: string, name: string, service: string, endpoints: DnsRecord[]): Promise<void>;
  /** At `resourceVersion`: a 409 when someone changed it since. */
  update(namespace: string, name: string, resourceVersion: string, endpoints: DnsRecord[]): Promise<void>;
  delete(namespace: string, name: string, resourceVersion: string): Promise<void>;
}
