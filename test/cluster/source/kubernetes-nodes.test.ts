import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ApiClients } from '../../../lib/cluster/api-clients.js';
import { KubeNodeDirectory } from '../../../lib/cluster/node-directory.js';
import { ApiRequests, requestLimits } from '../../../lib/cluster/api-requests.js';
import { kubernetesNodesSource } from '../../../lib/source/kubernetes-nodes.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { startControlPlane, type ControlPlane } from '../../../devcluster/control-plane.js';
import { kubeConfigFor } from '../../../devcluster/kubeconfig.js';
import { createNodes, createPool, installPoolCrd } from '../../../devcluster/metallb-fixture.js';
import { EventRateLimit } from '../../../lib/cluster/event-sink.js';
import { backendFor } from '../../../lib/cluster/backends.js';
import { kubeSyncTarget } from '../../../lib/sync/syncer.js';
import { jsonLogger } from '../../../lib/log/logger.js';
import { syncOnce } from '../../../lib/sync/sync-once.js';
import { range, syncSettings } from '../../support/sync-settings.js';
import { kubectl } from '../../support/kubectl.js';

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
      nodes: new KubeNodeDirectory(
        new ApiClients(kc),
        new ApiRequests(requestLimits(10_000, new AbortController().signal)),
      ),
    });

  it("reads the nodes' global IPv6 addresses, skipping IPv4 and ULA", async () => {
    const answer = await detect('role=worker');
    expect(answer.address.toString()).toBe('2a02:8071:1234:5678:dea6:32ff:fe01:1');
    expect(answer.raw).toBe('2a02:8071:1234:5678:dea6:32ff:fe01:1 (2 addresses on 2 nodes)');
  });

  it('reports every prefix the nodes are on (the sync chooses), and refuses nodes without a global address', async () => {
    const all = await detect(undefined);
    expect(all.address.toString()).toBe('2a02:8071:1234:5678:dea6:32ff:fe01:1');
    expect(all.alternatives?.map((a) => a.address.toString())).toEqual(['2a02:8071:4444:5678:1:2:3:4']);
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

  describe('a renumbering as kubelets report it: one sync moves the pool, none moves it back', () => {
    const V4 = '192.168.178.240/28';
    const [LOW, OLD, HIGH] = ['2a02:8071:1234:5500', '2a02:8071:1234:5600', '2a02:8071:1234:56cd'];
    const slaac = (subnet: string, i: number) => `${subnet}:dea6:32ff:fe02:${String(i)}`;
    let count = 0;

    /** Two nodes labelled for this case, reporting addresses from `subnets`, and a pool for them. */
    async function lab(...subnets: string[]) {
      count++;
      const label = { renumber: String(count) };
      const names = ['rpi-a', 'rpi-b'].map((n) => `${n}-${String(count)}`);
      const report = async (...now: string[]) => {
        const core = admin.makeApiClient(CoreV1Api);
        for (const [i, name] of names.entries())
          await core.patchNodeStatus(
            {
              name,
              body: {
                status: { addresses: node(name, label, ...now.map((s) => slaac(s, i + 1))).addresses },
              },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
      };
      await createNodes(
        admin,
        names.map((name, i) => node(name, label, ...subnets.map((s) => slaac(s, i + 1)))),
      );
      await installPoolCrd(admin);
      const pool = `pool-${String(count)}`;
      await createPool(admin, 'default', pool, { addresses: [V4] });
      const clients = new ApiClients(admin);
      const counter = new ApiRequests(requestLimits(10_000, new AbortController().signal));
      const place = { pool: { namespace: 'default', name: pool }, labelSelectors: ['app=none'] };
      const backend = backendFor('metallb', clients, place, counter);
      const target = kubeSyncTarget(backend, clients, counter, new EventRateLimit());
      const sync = () =>
        syncOnce(
          syncSettings({ reload: 'never' }),
          kubernetesNodesSource(`renumber=${String(count)}`, 64),
          target,
          jsonLogger('error'),
        );
      const settlesOn = async (subnet: string, first = 'updated') => {
        const once = await sync();
        expect({ status: once.status, after: once.after, error: once.error }).toEqual({
          status: first,
          after: [V4, range(subnet)],
          error: undefined,
        });
        expect((await sync()).status).toBe('unchanged');
      };
      return { report, sync, settlesOn };
    }

    it('first prefix', async () => {
      const { settlesOn } = await lab(OLD);
      await settlesOn(OLD);
    });

    it.each([
      ['higher, reported after the old one', [OLD, HIGH], HIGH],
      ['higher, reported first', [HIGH, OLD], HIGH],
      ['lower', [OLD, LOW], LOW],
    ])(
      'the new prefix %s beside the old one: the pool moves to it; the old one dropping out changes nothing',
      async (_, both, next) => {
        const { report, settlesOn } = await lab(OLD);
        await settlesOn(OLD);
        await report(...both);
        await settlesOn(next);
        await report(next);
        await settlesOn(next, 'unchanged');
      },
    );

    it('nodes on two prefixes the pool was never on: refused, naming both', async () => {
      const { sync } = await lab(LOW, HIGH);
      const result = await sync();
      expect(result).toMatchObject({ status: 'failed', stage: 'detect' });
      expect(result.error).toContain(
        `several prefixes are in use (${LOW}::/64, ${HIGH}::/64), 2 of them new to this pool`,
      );
    });
  });
});
