// Reads and writes the one pool (cloudflare-ddns's setter: applies to one target): what every pool
// kind shares — requests counted, refusals explained, a write at the resourceVersion it was planned
// from, which a status update does not stop — and MetalLB's IPAddressPool, which lists its entries
// as strings.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from './api-clients.js';
import { ClusterError, describeApiError, isUnknownResource, statusCode } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import type { AddressPool, PoolKind, PoolRef, PoolResource } from './ports.js';

/** The pool changed since we read it (HTTP 409); re-read and re-plan. */
export class ConflictError extends ClusterError {
  constructor(label: string, suffix = '') {
    super(`${label} was changed by someone else while we wrote it${suffix}`, 409);
    this.name = 'ConflictError';
  }
}

/** The cluster does not serve this kind of pool (at this version). */
export class NotServedError extends ClusterError {
  constructor(message: string) {
    super(message, 404);
    this.name = 'NotServedError';
  }
}

/** What a pool kind tells a person when the API refuses: the kind is not served, the pool is not there. */
export interface PoolRefusals {
  label: string;
  notServed: string;
  notFound: string;
}

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** One request about the pool, its refusal explained; `writing`: a 409 is a ConflictError to re-plan on. */
export async function poolRequest(
  counter: ApiRequests,
  refusals: PoolRefusals,
  action: 'reading' | 'writing',
  call: () => Promise<unknown>,
): Promise<unknown> {
  try {
    return await counter.track(call);
  } catch (error) {
    if (action === 'writing' && statusCode(error) === 409) throw new ConflictError(refusals.label);
    if (isUnknownResource(error))
      throw new NotServedError(`${action} ${refusals.label}: ${refusals.notServed}`);
    if (statusCode(error) === 404)
      throw new ClusterError(`${refusals.label} not found; ${refusals.notFound}`, 404);
    throw describeApiError(`${action} ${refusals.label}`, error);
  }
}

/** A pool object as the API serves it, whichever kind. */
export interface SeenPool {
  metadata: AddressPool['metadata'] & { labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** How many status-only moves a write follows before it reports the conflict (a controller settles in a few). */
const MAX_STATUS_MOVES = 5;

/**
 * The pool at each resourceVersion this run read or wrote, and the writes planned from them. A
 * pool's controller writes its status (MetalLB >= 0.15 counts the addresses it assigned whenever a
 * Service gets or loses one; Cilium's operator sets conditions), and that moves the resourceVersion
 * too. So when a write's 409 finds that only the status changed since the version it was planned
 * from, nobody's edit is in the way: the same patch goes again at the new resourceVersion. Any
 * other change stays a conflict.
 */
export class PoolVersions<P extends SeenPool> {
  private readonly seen = new Map<string, P>();

  saw(pool: P): void {
    this.seen.set(pool.metadata.resourceVersion, pool);
  }

  at(resourceVersion: string): P | undefined {
    return this.seen.get(resourceVersion);
  }

  /** `send` at `resourceVersion`, and again at each newer one that `read` finds moved only in status. */
  async write(
    resourceVersion: string,
    send: (at: string) => Promise<AddressPool>,
    read: () => Promise<AddressPool>,
  ): Promise<AddressPool> {
    const planned = this.seen.get(resourceVersion);
    for (let at = resourceVersion, statusMoves = 0; ; statusMoves++) {
      try {
        return await send(at);
      } catch (error) {
        const followable =
          error instanceof ConflictError && planned !== undefined && statusMoves < MAX_STATUS_MOVES;
        if (!followable) throw error;
        const now = await read();
        if (!sameButStatus(this.seen.get(now.metadata.resourceVersion), planned)) throw error;
        at = now.metadata.resourceVersion;
      }
    }
  }
}

/** Whether two reads of the pool differ at most in their status (and resourceVersion). */
function sameButStatus(a: SeenPool | undefined, b: SeenPool): boolean {
  if (a === undefined) return false;
  const owned = (p: SeenPool) =>
    JSON.stringify([p.metadata.annotations ?? {}, p.metadata.labels ?? {}, p.spec]);
  return owned(a) === owned(b);
}

/** The apiVersion and resource of MetalLB's pools (served since MetalLB 0.13). */
const GVR = { group: 'metallb.io', version: 'v1beta1', plural: 'ipaddresspools' } as const;

/** MetalLB's IPAddressPool, namespaced. */
export class KubePoolResource implements PoolResource {
  readonly kind: PoolKind = { apiVersion: `${GVR.group}/${GVR.version}`, kind: 'IPAddressPool' };
  private readonly api: CustomObjectsApi;
  private readonly refusals: PoolRefusals;
  private readonly versions = new PoolVersions<AddressPool>();

  constructor(
    clients: ApiClients,
    readonly ref: Required<PoolRef>,
    private readonly counter: ApiRequests,
  ) {
    this.api = clients.get(CustomObjectsApi);
    this.refusals = {
      label: this.label,
      notServed:
        'the cluster does not serve metallb.io/v1beta1 IPAddressPools; is MetalLB (>= 0.13, CRD mode) installed?',
      notFound: 'check --pool and --namespace (the pool must exist: metallb-dyn6 only updates it)',
    };
  }

  get label(): string {
    return `IPAddressPool ${this.ref.namespace}/${this.ref.name}`;
  }

  async read(): Promise<AddressPool> {
    return this.validated(
      await poolRequest(this.counter, this.refusals, 'reading', () =>
        this.api.getNamespacedCustomObject({ ...GVR, ...this.ref }),
      ),
    );
  }

  /**
   * One merge patch carrying the resourceVersion we planned from, so the apiserver refuses it
   * (409) if anyone changed the pool in between: nobody's edit is ever overwritten. MetalLB's own
   * status updates are not edits (see PoolVersions).
   */
  write(
    resourceVersion: string,
    addresses: string[],
    annotations: Record<string, string | null>,
  ): Promise<AddressPool> {
    const send = async (at: string) => {
      const body = { metadata: { resourceVersion: at, annotations }, spec: { addresses } };
      return this.validated(
        await poolRequest(this.counter, this.refusals, 'writing', () =>
          this.api.patchNamespacedCustomObject({ ...GVR, ...this.ref, body }, mergePatch),
        ),
      );
    };
    return this.versions.write(resourceVersion, send, () => this.read());
  }

  private validated(object: unknown): AddressPool {
    const pool = object as Partial<AddressPool> | null;
    const addresses: unknown = pool?.spec?.addresses;
    if (
      typeof pool?.metadata?.resourceVersion !== 'string' ||
      !Array.isArray(addresses) ||
      !addresses.every((a) => typeof a === 'string')
    ) {
      throw new ClusterError(`${this.label} has no spec.addresses list`);
    }
    this.versions.saw(pool as AddressPool);
    return pool as AddressPool;
  }
}
