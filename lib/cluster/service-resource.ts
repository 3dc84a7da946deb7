// The cluster's LoadBalancer Services as stable host numbering sees them: one LIST across all
// namespaces per run, and merge patches that carry the resourceVersion they were planned from.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import type { LoadBalancerService, PinFields } from '../plan/host-parts.js';
import type { ApiClients } from './api-clients.js';
import { admissionRefusal, ClusterError, describeApiError, serverMessage, statusCode } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import type { ServiceRef, ServiceResource } from './ports.js';

/** The Service changed since it was read (409): read it again and plan it again. */
export class ServiceConflictError extends ClusterError {
  constructor(ref: ServiceRef) {
    super(`Service ${ref.namespace}/${ref.name} was changed by someone else while we wrote it`, 409);
    this.name = 'ServiceConflictError';
  }
}

/** The Service was deleted since it was listed (404): nothing of it to keep. */
export class ServiceGoneError extends ClusterError {
  constructor(ref: ServiceRef) {
    super(`Service ${ref.namespace}/${ref.name} was deleted while the Services were moved`, 404);
    this.name = 'ServiceGoneError';
  }
}

/** The identity may not read or patch Services: the run says what to grant and goes on without them. */
export class ServicePermissionError extends ClusterError {
  constructor(action: string, detail: string | undefined) {
    super(
      `${action}: forbidden (403)${detail === undefined ? '' : `: ${detail}`}. ` +
        'Keeping host parts (and publishing with --nptv6) needs list, get and patch on Services in every ' +
        'namespace: add the kustomize component deploy/components/keep-host-parts (deploy/components/nptv6 ' +
        'with --nptv6), or the same ClusterRole yourself, or set --keep-host-parts / ' +
        'METALLB_DYN6_KEEP_HOST_PARTS to none',
      403,
    );
    this.name = 'ServicePermissionError';
  }
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function toLoadBalancerService(svc: V1Service): LoadBalancerService {
  const spec = svc.spec?.loadBalancerIP;
  return {
    namespace: svc.metadata?.namespace ?? '',
    name: svc.metadata?.name ?? '',
    resourceVersion: svc.metadata?.resourceVersion ?? '',
    annotations: svc.metadata?.annotations ?? {},
    ...(spec === undefined || spec === '' ? {} : { loadBalancerIP: spec }),
    ingress: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])),
  };
}

export class KubeServiceResource implements ServiceResource {
  private readonly core: CoreV1Api;

  constructor(
    clients: ApiClients,
    private readonly counter: ApiRequests,
  ) {
    this.core = clients.get(CoreV1Api);
  }

  async list(): Promise<LoadBalancerService[]> {
    try {
      const list = await this.counter.track(() => this.core.listServiceForAllNamespaces({}));
      return list.items.filter((s) => s.spec?.type === 'LoadBalancer').map(toLoadBalancerService);
    } catch (error) {
      throw explain('listing Services in all namespaces', error);
    }
  }

  async get(ref: ServiceRef): Promise<LoadBalancerService | undefined> {
    try {
      const service = await this.counter.track(() => this.core.readNamespacedService(ref));
      return service.spec?.type === 'LoadBalancer' ? toLoadBalancerService(service) : undefined;
    } catch (error) {
      if (statusCode(error) === 404) throw new ServiceGoneError(ref);
      throw explain(`reading Service ${ref.namespace}/${ref.name}`, error);
    }
  }

  async patch(ref: ServiceRef, resourceVersion: string, fields: PinFields): Promise<LoadBalancerService> {
    const body = {
      metadata: { resourceVersion, annotations: fields.annotations },
      ...(fields.loadBalancerIP === undefined ? {} : { spec: { loadBalancerIP: fields.loadBalancerIP } }),
    };
    try {
      return toLoadBalancerService(
        await this.counter.track(() => this.core.patchNamespacedService({ ...ref, body }, mergePatch)),
      );
    } catch (error) {
      if (statusCode(error) === 409) throw new ServiceConflictError(ref);
      if (statusCode(error) === 404) throw new ServiceGoneError(ref);
      throw explain(`patching Service ${ref.namespace}/${ref.name}`, error);
    }
  }
}

function explain(action: string, error: unknown): ClusterError {
  // A webhook or policy refusing with 403 is not RBAC: granting more would not help.
  if (statusCode(error) === 403 && admissionRefusal(error) === undefined)
    return new ServicePermissionError(action, serverMessage(error));
  return describeApiError(action, error);
}
