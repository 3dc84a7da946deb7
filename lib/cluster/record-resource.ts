// external-dns's DNSEndpoints (externaldns.k8s.io/v1alpha1, its CRD source) that metallb-dyn6 writes
// in NPTv6 mode with --nptv6-records dnsendpoint: found by their label, each change at the
// resourceVersion it was planned from.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { FOR_SERVICE_LABEL, MANAGED_BY, type DnsRecord, type OwnedRecords } from '../plan/dns-records.js';
import type { ApiClients } from './api-clients.js';
import { ClusterError, describeApiError, isUnknownResource, statusCode } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import { mergePatch } from './pool-resource.js';
import type { RecordResource } from './ports.js';

const GVR = { group: 'externaldns.k8s.io', version: 'v1alpha1', plural: 'dnsendpoints' } as const;
const SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

interface DnsEndpointObject {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { endpoints?: DnsRecord[] };
}

export class KubeRecordResource implements RecordResource {
  private readonly api: CustomObjectsApi;

  constructor(
    clients: ApiClients,
    private readonly counter: ApiRequests,
  ) {
    this.api = clients.get(CustomObjectsApi);
  }

  async listOwned(): Promise<OwnedRecords[]> {
    const list = (await this.send('listing DNSEndpoints in all namespaces', () =>
      this.api.listCustomObjectForAllNamespaces({ ...GVR, labelSelector: SELECTOR }),
    )) as { items?: DnsEndpointObject[] };
    return (list.items ?? []).map((o) => ({
      namespace: o.metadata?.namespace ?? '',
      name: o.metadata?.name ?? '',
      resourceVersion: o.metadata?.resourceVersion ?? '',
      service: `${o.metadata?.namespace ?? ''}/${o.metadata?.labels?.[FOR_SERVICE_LABEL] ?? ''}`,
      endpoints: o.spec?.endpoints ?? [],
    }));
  }

  async create(namespace: string, name: string, service: string, endpoints: DnsRecord[]): Promise<void> {
    // A label value cannot hold "/": the Service's namespace is the object's own.
    const labels = { ...MANAGED_BY, [FOR_SERVICE_LABEL]: service.split('/')[1] ?? '' };
    const body = {
      apiVersion: `${GVR.group}/${GVR.version}`,
      kind: 'DNSEndpoint',
      metadata: { name, labels },
      spec: { endpoints },
    };
    await this.send(`creating DNSEndpoint ${namespace}/${name}`, () =>
      this.api.createNamespacedCustomObject({ ...GVR, namespace, body }),
    );
  }

  async update(
    namespace: string,
    name: string,
    resourceVersion: string,
    endpoints: DnsRecord[],
  ): Promise<void> {
    const body = { metadata: { resourceVersion }, spec: { endpoints } };
    await this.send(`updating DNSEndpoint ${namespace}/${name}`, () =>
      this.api.patchNamespacedCustomObject({ ...GVR, namespace, name, body }, mergePatch),
    );
  }

  async delete(namespace: string, name: string, resourceVersion: string): Promise<void> {
    await this.send(`deleting DNSEndpoint ${namespace}/${name}`, () =>
      this.api.deleteNamespacedCustomObject({
        ...GVR,
        namespace,
        name,
        body: { preconditions: { resourceVersion } },
      }),
    );
  }

  private async send(action: string, call: () => Promise<unknown>): Promise<unknown> {
    try {
      return await this.counter.track(call);
    } catch (error) {
      if (isUnknownResource(error)) {
        throw new ClusterError(
          `${action}: the cluster does not serve externaldns.k8s.io/v1alpha1 DNSEndpoints; install external-dns's CRD, or use --nptv6-records annotations`,
          404,
        );
      }
      if (statusCode(error) === 409)
        throw new ClusterError(
          `${action}: it exists already or was changed meanwhile (409); a DNSEndpoint that is not ours is left as it is`,
          409,
        );
      throw describeApiError(action, error);
    }
  }
}
