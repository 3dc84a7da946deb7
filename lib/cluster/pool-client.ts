// Reads and writes the one IPAddressPool (cloudflare-ddns's setter: applies to one target).
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from './api-clients.js';
import { ClusterError, describeApiError, isUnknownResource, statusCode } from './api-error.js';
import type { ApiRequests } from './api-requests.js';

export interface PoolRef {
  namespace: string;
  name: string;
}

export interface Pool {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    uid?: string;
    annotations?: Record<string, string>;
  };
  spec: { addresses: string[] } & Record<string, unknown>;
}

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

/** The pool object as the API serves it: read it, or merge-patch it at the resourceVersion it had. */
export interface PoolApi {
  readonly ref: PoolRef;
  read(): Promise<Pool>;
  /** Throws ConflictError when the pool is no longer at `resourceVersion`. */
  write(
    resourceVersion: string,
    addresses: string[],
    annotations: Record<string, string | null>,
  ): Promise<Pool>;
}

const GVR = { group: 'metallb.io', version: 'v1beta1', plural: 'ipaddresspools' } as const;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class PoolClient implements PoolApi {
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

  async read(): Promise<Pool> {
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
  ): Promise<Pool> {
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

  private validated(object: unknown): Pool {
    const pool = object as Partial<Pool> | null;
    const addresses: unknown = pool?.spec?.addresses;
    if (
      typeof pool?.metadata?.resourceVersion !== 'string' ||
      !Array.isArray(addresses) ||
      !addresses.every((a) => typeof a === 'string')
    ) {
      throw new ClusterError(`${this.label} has no spec.addresses list`);
    }
    return pool as Pool;
  }
}
