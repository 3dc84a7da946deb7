// Reads and writes the one IPAddressPool (cloudflare-ddns's setter: applies to one target).
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from './api-clients.js';
import { ClusterError, describeApiError, isUnknownResource, statusCode } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import type { IPAddressPool, PoolRef, PoolResource } from './ports.js';

/** The pool changed since we read it (HTTP 409); re-read and re-plan. */
export class ConflictError extends ClusterError {
  constructor(ref: PoolRef, suffix = '') {
    super(
      `IPAddressPool ${ref.namespace}/${ref.name} was changed by someone else while we wrote it${suffix}`,
      409,
    );
    this.name = 'ConflictError';
  }
}

const GVR = { group: 'metallb.io', version: 'v1beta1', plural: 'ipaddresspools' } as const;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubePoolResource implements PoolResource {
  private readonly api: CustomObjectsApi;

  constructor(
    clients: ApiClients,
    readonly ref: PoolRef,
    private readonly counter: ApiRequests,
  ) {
    this.api = clients.get(CustomObjectsApi);
  }

  get label(): string {
    return `IPAddressPool ${this.ref.namespace}/${this.ref.name}`;
  }

  async read(): Promise<IPAddressPool> {
    let object: unknown;
    try {
      object = await this.counter.track(() => this.api.getNamespacedCustomObject({ ...GVR, ...this.ref }));
    } catch (error) {
      throw this.explain('reading', error);
    }
    return this.validated(object);
  }

  /**
   * One merge patch carrying the resourceVersion we planned from, so the apiserver refuses it
   * (409) if anyone changed the pool in between: nobody's edit is ever overwritten.
   */
  async write(
    resourceVersion: string,
    addresses: string[],
    annotations: Record<string, string | null>,
  ): Promise<IPAddressPool> {
    let object: unknown;
    try {
      object = await this.counter.track(() =>
        this.api.patchNamespacedCustomObject(
          { ...GVR, ...this.ref, body: { metadata: { resourceVersion, annotations }, spec: { addresses } } },
          mergePatch,
        ),
      );
    } catch (error) {
      if (statusCode(error) === 409) throw new ConflictError(this.ref);
      throw this.explain('writing', error);
    }
    return this.validated(object);
  }

  private explain(action: string, error: unknown): ClusterError {
    if (isUnknownResource(error)) {
      return new ClusterError(
        `${action} ${this.label}: the cluster does not serve metallb.io/v1beta1 IPAddressPools; is MetalLB (>= 0.13, CRD mode) installed?`,
        404,
      );
    }
    if (statusCode(error) === 404) {
      return new ClusterError(
        `${this.label} not found; check --pool and --namespace (the pool must exist: metallb-dyn6 only updates it)`,
        404,
      );
    }
    return describeApiError(`${action} ${this.label}`, error);
  }

  private validated(object: unknown): IPAddressPool {
    const pool = object as Partial<IPAddressPool> | null;
    const addresses: unknown = pool?.spec?.addresses;
    if (
      typeof pool?.metadata?.resourceVersion !== 'string' ||
      !Array.isArray(addresses) ||
      !addresses.every((a) => typeof a === 'string')
    ) {
      throw new ClusterError(`${this.label} has no spec.addresses list`);
    }
    return pool as IPAddressPool;
  }
}
