import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ApiClients } from '../../lib/cluster/api-clients.js';
import { ClusterNodes } from '../../lib/cluster/cluster-nodes.js';
import { ApiRequests, requestLimits } from '../../lib/cluster/api-requests.js';
import { kubernetesNodesSource } from '../../lib/source/kubernetes-nodes.js';
import { REPO_ROOT } from '../harness/binaries.js';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { kubeConfigFor } from '../harness/kubeconfig.js';
import { createNodes } from '../harness/metallb-fixture.js';
import { kubectl } from '../support/kubectl.js';

/** Nodes as a dual-stack home cluster reports them: IPv4, ULA, link-local-free SLAAC addresses. */
const node = (name: string, labels: Record<string, string>, ...v6: string[]) => ({
  name,
  labels,
  addresses: [
    { type: 'InternalIP', address: '192.168.178.30' },
    { type: 'InternalIP', address: 'fd00:1::30' },
    ...v6.map((address) => ({ type: 'InternalIP', address })),
    { type: 'Hostname', address: name },
  ],
});

describe('kubernetes-nodes source against a control plane of its own', () => {
  let plane: ControlPlane;
  let admin: KubeConfig;
  beforeAll(async () => {
    // Its own cluster: extra nodes would add speaker pods to every other test's MetalLB.
    plane = await startControlPlane();
    admin = new KubeConfig();
    admin.loadFromFile(plane.adminKubeconfig);
    await createNodes(admin, [
      node('pi-1', { role: 'worker' }, '2a02:8071:1234:5678:dea6:32ff:fe01:1'),
      node('pi-2', { role: 'worker' }, '2a02:8071:1234:5678:dea6:32ff:fe01:2'),
      node('nuc', { role: 'stale' }, '2a02:8071:4444:5678:1:2:3:4'),
      node('ula-only', { role: 'ula' }),
    ]);
  });
  afterAll(async () => {
    await plane.stop();
  });

  const detect = (selector: string | undefined, kc: KubeConfig = admin) =>
    kubernetesNodesSource(selector, 64).detect({
      nodes: new ClusterNodes(
        new ApiClients(kc),
        new ApiRequests(requestLimits(10_000, new AbortController().signal)),
      ),
    });

  it("reads the nodes' global IPv6 addresses, skipping IPv4 and ULA", async () => {
    const answer = await detect('role=worker');
    expect(answer.address.toString()).toBe('2a02:8071:1234:5678:dea6:32ff:fe01:1');
    expect(answer.raw).toBe('2a02:8071:1234:5678:dea6:32ff:fe01:1 (2 addresses on 2 nodes)');
  });

  it('refuses nodes that disagree on the prefix, and nodes without a global address', async () => {
    await expect(detect(undefined)).rejects.toThrow(/addresses disagree on the \/64 prefix/);
    await expect(detect('role=ula')).rejects.toThrow(/no node reports a global IPv6 address/);
    await expect(detect('role=none')).rejects.toThrow(/no nodes match role=none/);
  });

  it('needs only the ClusterRole of deploy/components/kubernetes-nodes-source', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'metallb-system' } } });
    await core.createNamespacedServiceAccount({
      namespace: 'metallb-system',
      body: { metadata: { name: 'metallb-dyn6' } },
    });
    const token = await core.createNamespacedServiceAccountToken({
      namespace: 'metallb-system',
      name: 'metallb-dyn6',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const sa = kubeConfigFor(plane, 'sa', token.status?.token ?? '');
    await expect(detect('role=worker', sa)).rejects.toThrow(/listing nodes: forbidden \(403\)/);
    const component = path.join(REPO_ROOT, 'deploy/components/kubernetes-nodes-source');
    kubectl(
      [
        'apply',
        '-f',
        path.join(component, 'clusterrole.yaml'),
        '-f',
        path.join(component, 'clusterrolebinding.yaml'),
      ],
      {
        kubeconfig: plane.adminKubeconfig,
      },
    );
    expect((await detect('role=worker', sa)).address.toString()).toBe('2a02:8071:1234:5678:dea6:32ff:fe01:1');
  });
});
