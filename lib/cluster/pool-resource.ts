// Reads and writes the one pool (cloudflare-ddns's setter: applies to one target): what every pool
// kind shares — requests counted, refusals explained, a write at the resourceVersion it was planned
// from — and MetalLB's IPAddressPool, which lists its entries as strings.
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

/** The apiVersion and resource of MetalLB's pools (served since MetalLB 0.13). */
const GVR = { group: 'metallb.io', version: 'v1beta1', plural: 'ipaddresspools' } as const;

/** MetalLB's IPAddressPool, namespaced. */
export class KubePoolResource implements PoolResource {
  readonly kind: PoolKind = { apiVersion: `${GVR.group}/${GVR.version}`, kind: 'IPAddressPool' };
  private readonly api: CustomObjectsApi;
  private readonly refusals: PoolRefusals;

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
   * (409) if anyone changed the pool in between: nobody's edit is ever overwritten.
   */
  async write(
    resourceVersion: string,
    addresses: string[],
    annotations: Record<string, string | null>,
  ): Promise<AddressPool> {
    const body = { metadata: { resourceVersion, annotations }, spec: { addresses } };
    return this.validated(
      await poolRequest(this.counter, this.refusals, 'writing', () =>
        this.api.patchNamespacedCustomObject({ ...GVR, ...this.ref, body }, mergePatch),
      ),
    );
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
    return pool as AddressPool;
  }
}
