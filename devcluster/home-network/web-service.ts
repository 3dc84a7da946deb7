// The home's IPv6 LoadBalancer Service, backed by the pod behind the node (no selector: its
// Endpoints name the pod, and the control plane mirrors them into EndpointSlices), and the
// L2Advertisement that has MetalLB's speaker announce the pool on the node's LAN link.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { BACKEND_PORT, POD_NETWORK } from './node-host.js';

export const WEB = 'web';

export async function createWebService(admin: KubeConfig, namespace: string, node: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: WEB },
      spec: {
        type: 'LoadBalancer',
        ipFamilies: ['IPv6'],
        ipFamilyPolicy: 'SingleStack',
        ports: [{ port: 80, targetPort: BACKEND_PORT, protocol: 'TCP' }],
      },
    },
  });
  await core.createNamespacedEndpoints({
    namespace,
    body: {
      metadata: { name: WEB },
      subsets: [
        {
          addresses: [{ ip: POD_NETWORK.pod, nodeName: node }],
          ports: [{ port: BACKEND_PORT, protocol: 'TCP' }],
        },
      ],
    },
  });
}

export async function createL2Advertisement(
  admin: KubeConfig,
  namespace: string,
  pool: string,
): Promise<void> {
  await admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'metallb.io',
    version: 'v1beta1',
    namespace,
    plural: 'l2advertisements',
    body: {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: 'lan' },
      spec: { ipAddressPools: [pool], interfaces: ['lan0'] },
    },
  });
}

/** The Service's IPv6 address as MetalLB set it, if it has one. */
export async function webAddress(admin: KubeConfig, namespace: string): Promise<string | undefined> {
  const service = await admin.makeApiClient(CoreV1Api).readNamespacedService({ name: WEB, namespace });
  return service.status?.loadBalancer?.ingress?.find((i) => i.ip?.includes(':') === true)?.ip;
}
