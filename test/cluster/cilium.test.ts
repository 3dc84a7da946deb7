// What a Cilium user needs: after the ISP changes the prefix and metallb-dyn6 syncs a
// CiliumLoadBalancerIPPool, the LoadBalancer Services have addresses on the new prefix — proven with
// Cilium's real operator (built from the Go module proxy), the oldest and the newest release that
// build here. Each release gets a control plane of its own: the operator claims every LoadBalancer
// Service of its cluster, and installs its own CRDs. The sync runs as the released CLI, acting as the
// ServiceAccount that deploy/components/cilium and keep-host-parts grant, nothing more.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Service,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { testKubernetesVersion } from '../../devcluster/binaries.js';
import {
  CILIUM_RELEASES,
  startCiliumOperator,
  type CiliumOperator,
} from '../../devcluster/cilium-operator.js';
import { runCli, type CliRun } from '../../devcluster/cli.js';
import { kubeconfigYaml } from '../../devcluster/kubeconfig.js';
import { createLoadBalancer } from '../../devcluster/metallb-fixture.js';
import { goToBuild } from '../../devcluster/metallb-runtime.js';
import { serviceAccountAccess } from '../../devcluster/shared-cluster.js';
import { startTestCluster, type TestCluster } from '../../devcluster/test-cluster.js';
import { CILIUM_PIN_ANNOTATION, PINNED_BY_US_ANNOTATION } from '../../lib/plan/host-parts.js';
import { OWNED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { ApiClients } from '../../lib/cluster/api-clients.js';
import { ApiRequests, requestLimits } from '../../lib/cluster/api-requests.js';
import { KubeCiliumPoolResource } from '../../lib/cluster/cilium-pool-resource.js';
import { ConflictError } from '../../lib/cluster/pool-resource.js';
import { describeIf, type Condition } from '../support/declared-skips.js';
import { canI, kubectl, renderWithComponents } from '../support/kubectl.js';

const POOLS = { group: 'cilium.io', version: 'v2', plural: 'ciliumloadbalancerippools' } as const;
/**
 * A person's one-address block in the same pool, held by their pinned Service: never ours to change
 * (and full, so Cilium cannot renumber other Services into it).
 */
const VPN = 'fd00:1234:5678::5';
const ULA_BLOCK = { start: VPN };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** A condition as Cilium's operator writes it on a pool's status. */
const STATUS_CONDITION = {
  type: 'cilium.io/IPsAvailable',
  status: 'Unknown',
  lastTransitionTime: '2026-12-06T00:00:00Z',
  message: '42',
  reason: 'test',
};

/**
 * The addresses of test `n`: its own, so that the pools of several tests never overlap (Cilium marks
 * overlapping pools conflicting and assigns from neither). A person's IPv4 block, and our prefixes.
 */
const addressesOf = (n: number) => ({
  v4: `192.168.${String(n)}.240/28`,
  old: `2a02:8071:1234:5${String(n)}00`,
  new: `2a02:8071:1234:5${String(n)}cd`,
});
const ours = (subnet: string) => ({ start: `${subnet}::1000`, stop: `${subnet}::1999` });

interface CiliumPool {
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: { blocks: Record<string, string>[]; serviceSelector?: unknown };
}

const onCurrentPlane: Condition =
  testKubernetesVersion() === '1.20'
    ? { unavailable: "Cilium's operator needs Kubernetes >= 1.21; this run's plane is 1.20" }
    : true;
const condition: Condition =
  onCurrentPlane === true ? goToBuild("Cilium's operator", '1.26') : onCurrentPlane;
const skipId = onCurrentPlane === true ? 'no-go-toolchain' : 'plane-too-old';

describeIf(condition, skipId, "Services follow the prefix with Cilium's real LB-IPAM operator", () => {
  describe.each(CILIUM_RELEASES)('Cilium %s', (version) => {
    let cluster: TestCluster;
    let operator: CiliumOperator;
    let kubeconfig: string;
    let core: CoreV1Api;
    let custom: CustomObjectsApi;
    const POOL_NAMES = ['renumbered', 'kept', 'repinned', 'auto', 'refused', 'raced', 'status'];

    beforeAll(async () => {
      cluster = await startTestCluster();
      operator = await startCiliumOperator(version, cluster.admin, cluster.adminKubeconfig, cluster.runDir);
      core = cluster.admin.makeApiClient(CoreV1Api);
      custom = cluster.admin.makeApiClient(CustomObjectsApi);
      kubeconfig = await grantShippedRights(cluster, POOL_NAMES);
    }, 300_000);

    afterAll(async () => {
      await operator.stop();
      await cluster.stop();
    });

    /** A namespace, and a pool selecting only its Services (Cilium's namespace label). */
    async function setUp(
      name: string,
      { v4, old }: ReturnType<typeof addressesOf>,
      extraBlocks: Record<string, string>[] = [],
    ): Promise<void> {
      await core.createNamespace({ body: { metadata: { name } } });
      await custom.createClusterCustomObject({
        ...POOLS,
        body: {
          apiVersion: 'cilium.io/v2',
          kind: 'CiliumLoadBalancerIPPool',
          metadata: { name },
          spec: {
            blocks: [{ cidr: v4 }, ours(old), ...extraBlocks],
            serviceSelector: { matchLabels: { 'io.kubernetes.service.namespace': name } },
          },
        },
      });
    }

    const readPool = async (name: string) =>
      (await custom.getClusterCustomObject({ ...POOLS, name })) as CiliumPool;

    const ingressOf = (svc: V1Service) => svc.status?.loadBalancer?.ingress?.map((i) => i.ip ?? '') ?? [];

    /** Waits until the Services have these addresses (as Cilium reports them in their status). */
    async function addressesBecome(namespace: string, wanted: Record<string, string[]>): Promise<void> {
      await servicesSettle(namespace, JSON.stringify(wanted), (seen) =>
        Object.entries(wanted).every(([name, ips]) => JSON.stringify(seen[name]) === JSON.stringify(ips)),
      );
    }

    /** Waits until the Services' addresses (as Cilium reports them in their status) are as `done` wants; returns them. */
    async function servicesSettle(
      namespace: string,
      wanted: string,
      done: (seen: Record<string, string[]>) => boolean,
    ): Promise<Record<string, string[]>> {
      const deadline = Date.now() + 30_000;
      let seen: Record<string, string[]> = {};
      while (Date.now() < deadline) {
        const services = (await core.listNamespacedService({ namespace })).items;
        seen = Object.fromEntries(services.map((s) => [s.metadata?.name ?? '', ingressOf(s)]));
        if (done(seen)) return seen;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(
        `Services in ${namespace}: wanted ${wanted}, have ${JSON.stringify(seen)}\n${operator.tail()}`,
      );
    }

    /**
     * Three Services numbered ::1000, ::1001, ::1002 by Cilium; then the first goes, so the two left
     * hold host parts a fresh numbering would not give them.
     */
    async function servicesWithGap(namespace: string, subnet: string): Promise<void> {
      for (const name of ['first', 'web', 'mqtt']) {
        await createLoadBalancer(cluster.admin, namespace, name);
        await addressesBecome(namespace, {
          [name]: [`${subnet}::${String(999 + ['first', 'web', 'mqtt'].indexOf(name) + 1)}`],
        });
      }
      await core.deleteNamespacedService({ namespace, name: 'first' });
    }

    const sync = (pool: string, subnet: string, extra: Record<string, string> = {}): Promise<CliRun> =>
      runCli(['sync'], {
        KUBECONFIG: kubeconfig,
        METALLB_DYN6_BACKEND: 'cilium',
        METALLB_DYN6_METALLB_POOL: pool,
        METALLB_DYN6_HOST_RANGE: '::1000-::1999',
        METALLB_DYN6_SOURCE: `static:${subnet}::9`,
        ...extra,
      });

    it('moves only its own block; Cilium renumbers the Services from the start of the new range', async () => {
      const addresses = addressesOf(1);
      const { v4, old, new: now } = addresses;
      await setUp('renumbered', addresses, [ULA_BLOCK]);
      await servicesWithGap('renumbered', old);
      // A person's Service pinned in their own block: neither the pin nor the address moves.
      await createLoadBalancer(cluster.admin, 'renumbered', 'vpn', {
        annotations: { [CILIUM_PIN_ANNOTATION]: VPN },
      });
      await addressesBecome('renumbered', { vpn: [VPN] });
      const before = await readPool('renumbered');

      const run = await sync('renumbered', now);
      expect(run.result).toMatchObject({
        status: 'updated',
        pool: 'renumbered',
        after: [v4, `${now}::1000-${now}::1999`, `${VPN}-${VPN}`],
        reload: {
          action: 'skipped',
          reason: 'Cilium LB-IPAM takes pool changes by itself: nothing to restart',
        },
      });
      expect(run.code).toBe(0);
      const after = await readPool('renumbered');
      // The person's blocks and the selector are the objects they were; ours is the new range.
      expect(after.spec).toEqual({ ...before.spec, blocks: [{ cidr: v4 }, ours(now), ULA_BLOCK] });
      expect(JSON.parse(after.metadata.annotations?.[OWNED_ANNOTATION] ?? '[]')).toEqual([
        `${now}::1000-${now}::1999`,
      ]);
      // Without --keep-host-parts the host parts are lost: Cilium numbers from the bottom again, in
      // whatever order it takes the Services up (::1002 is gone either way).
      const moved = await servicesSettle('renumbered', `web and mqtt under ${now}::/64`, (seen) =>
        ['web', 'mqtt'].every((name) => seen[name]?.length === 1 && seen[name][0]?.startsWith(`${now}::`)),
      );
      expect([...(moved['web'] ?? []), ...(moved['mqtt'] ?? [])].sort()).toEqual([
        `${now}::1000`,
        `${now}::1001`,
      ]);
      expect(moved['vpn']).toEqual([VPN]);
      const vpn = await core.readNamespacedService({ namespace: 'renumbered', name: 'vpn' });
      expect(vpn.metadata?.annotations?.[CILIUM_PIN_ANNOTATION]).toBe(VPN);

      // The next run finds nothing to do, and the Events of the cluster-scoped pool are in `default`.
      expect((await sync('renumbered', now)).result).toMatchObject({ status: 'unchanged' });
      const events = (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.involvedObject.name === 'renumbered',
      );
      expect(
        events.map((e) => [e.involvedObject.kind, e.involvedObject.apiVersion, e.reason]),
      ).toContainEqual(['CiliumLoadBalancerIPPool', 'cilium.io/v2', 'AddressesUpdated']);
    });

    it('with --keep-host-parts all, every Service keeps its host part on the new prefix', async () => {
      const addresses = addressesOf(2);
      const { old, new: now } = addresses;
      await setUp('kept', addresses);
      await servicesWithGap('kept', old);
      const run = await sync('kept', now, { METALLB_DYN6_KEEP_HOST_PARTS: 'all' });
      expect(run.result).toMatchObject({ status: 'updated', services: { notKept: [] } });
      await addressesBecome('kept', { web: [`${now}::1001`], mqtt: [`${now}::1002`] });
      const web = await core.readNamespacedService({ namespace: 'kept', name: 'web' });
      expect(web.metadata?.annotations).toMatchObject({
        [CILIUM_PIN_ANNOTATION]: `${now}::1001`,
        [PINNED_BY_US_ANNOTATION]: `${now}::1001`,
      });
    });

    it('re-pins a Service a person pinned in our range, which Cilium would otherwise leave without an address', async () => {
      const addresses = addressesOf(3);
      const { old, new: now } = addresses;
      await setUp('repinned', addresses);
      await createLoadBalancer(cluster.admin, 'repinned', 'nas', {
        annotations: { [CILIUM_PIN_ANNOTATION]: `${old}::1234` },
      });
      await addressesBecome('repinned', { nas: [`${old}::1234`] });
      const run = await sync('repinned', now, { METALLB_DYN6_KEEP_HOST_PARTS: 'all' });
      expect(run.result).toMatchObject({ status: 'updated' });
      await addressesBecome('repinned', { nas: [`${now}::1234`] });
      const nas = await core.readNamespacedService({ namespace: 'repinned', name: 'nas' });
      expect(nas.metadata?.annotations?.[CILIUM_PIN_ANNOTATION]).toBe(`${now}::1234`);
      // A person's pin stays theirs: no record of ours on it.
      expect(nas.metadata?.annotations?.[PINNED_BY_US_ANNOTATION]).toBeUndefined();
    });

    it('--backend auto finds the Cilium pool (the cluster serves MetalLB pools too, but has none of that name)', async () => {
      const addresses = addressesOf(4);
      const { v4, old, new: now } = addresses;
      await setUp('auto', addresses);
      const run = await sync('auto', now, { METALLB_DYN6_BACKEND: 'auto', METALLB_DYN6_DRY_RUN: 'true' });
      expect(run.result).toMatchObject({ status: 'dry-run', after: [v4, `${now}::1000-${now}::1999`] });
      expect(run.stderr).toContain('--backend auto: the cluster has CiliumLoadBalancerIPPool auto');
      expect((await readPool('auto')).spec.blocks).toEqual([{ cidr: v4 }, ours(old)]);
    });

    it('changes nothing and says why when the pool is not one it may write', async () => {
      const addresses = addressesOf(5);
      const { v4, old, new: now } = addresses;
      await setUp('refused', addresses);
      const before = await readPool('refused');
      // Not granted: the ClusterRole names its pools.
      const denied = await sync('someone-elses', now);
      expect(denied.code).not.toBe(0);
      expect(denied.result?.error).toMatch(
        /^reading CiliumLoadBalancerIPPool someone-elses: forbidden \(403\)/,
      );
      // A block naming no address: refused before anything is planned.
      await custom.patchClusterCustomObject(
        {
          ...POOLS,
          name: 'refused',
          body: { spec: { blocks: [{ cidr: v4 }, ours(old), { stop: 'fd00::9' }] } },
        },
        mergePatch,
      );
      const garbled = await readPool('refused');
      const run = await sync('refused', now);
      expect(run.code).not.toBe(0);
      expect(run.result?.error).toMatch(/block 3 \(\{"stop":"fd00::9"\}\) has neither a cidr nor a start/);
      expect((await readPool('refused')).metadata.resourceVersion).toBe(garbled.metadata.resourceVersion);
      expect(before.spec.blocks).toEqual([{ cidr: v4 }, ours(old)]);
    });

    it('several runs at once: one writes, the others find it done or join it, and the pool ends right', async () => {
      const addresses = addressesOf(6);
      const { v4, new: now } = addresses;
      await setUp('raced', addresses);
      const runs = await Promise.all([1, 2, 3].map(() => sync('raced', now)));
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
      const statuses = runs.map((r) => r.result?.status);
      expect(statuses.filter((s) => s === 'updated')).toHaveLength(1);
      expect(statuses.every((s) => s === 'updated' || s === 'unchanged' || s === 'joined')).toBe(true);
      const pool = await readPool('raced');
      expect(pool.spec.blocks).toEqual([{ cidr: v4 }, ours(now)]);
      expect(JSON.parse(pool.metadata.annotations?.[OWNED_ANNOTATION] ?? '[]')).toEqual([
        `${now}::1000-${now}::1999`,
      ]);
    });

    it("writes through the operator's status updates, but not through anyone's edit of the pool", async () => {
      const addresses = addressesOf(7);
      const { v4, old, new: now } = addresses;
      await setUp('status', addresses);
      const clients = new ApiClients(cluster.admin);
      const counter = new ApiRequests(requestLimits(10_000, new AbortController().signal));
      const resource = new KubeCiliumPoolResource(clients, { name: 'status' }, counter);
      const ourEntry = `${now}::1000-${now}::1999`;
      // The operator's kind of write: the status subresource only.
      const before = await resource.read();
      await custom.patchClusterCustomObjectStatus(
        { ...POOLS, name: 'status', body: { status: { conditions: [STATUS_CONDITION] } } },
        mergePatch,
      );
      const written = await resource.write(before.metadata.resourceVersion, [v4, ourEntry], {});
      expect(written.spec.addresses).toEqual([v4, ourEntry]);
      // A person's edit of the blocks in between: refused as a conflict, and their block stays.
      const seen = await resource.read();
      await custom.patchClusterCustomObject(
        {
          ...POOLS,
          name: 'status',
          body: { spec: { blocks: [{ cidr: v4 }, ours(now), { cidr: 'fd00:7::/120' }] } },
        },
        mergePatch,
      );
      await expect(
        resource.write(seen.metadata.resourceVersion, [v4, `${old}::1000-${old}::1999`], {}),
      ).rejects.toThrow(ConflictError);
      expect((await readPool('status')).spec.blocks).toEqual([
        { cidr: v4 },
        ours(now),
        { cidr: 'fd00:7::/120' },
      ]);
    });

    it('the cilium component grants get and patch on the named pools and Events in default, nothing of MetalLB', () => {
      const as = '--as=system:serviceaccount:metallb-system:metallb-dyn6';
      const rows: [string, string, string, boolean][] = [
        ['get', 'ciliumloadbalancerippools.cilium.io/raced', '', true],
        ['patch', 'ciliumloadbalancerippools.cilium.io/raced', '', true],
        ['get', 'ciliumloadbalancerippools.cilium.io/someone-elses', '', false],
        ['list', 'ciliumloadbalancerippools.cilium.io', '', false],
        ['create', 'ciliumloadbalancerippools.cilium.io', '', false],
        ['delete', 'ciliumloadbalancerippools.cilium.io/raced', '', false],
        ['create', 'events', 'default', true],
        ['create', 'events', 'kube-system', false],
        ['get', 'ipaddresspools.metallb.io/raced', 'metallb-system', false],
        ['deletecollection', 'pods', 'metallb-system', false],
        ['get', 'secrets', 'metallb-system', false],
      ];
      const line = ([verb, resource, namespace]: (typeof rows)[number], answer: boolean) =>
        `${verb} ${resource} ${namespace}: ${String(answer)}`;
      const answers = rows.map(([verb, resource, namespace]) =>
        canI([verb, resource, ...(namespace === '' ? ['--all-namespaces'] : ['-n', namespace]), as], {
          kubeconfig: cluster.adminKubeconfig,
        }),
      );
      expect(rows.map((row, i) => line(row, answers[i] ?? false))).toEqual(
        rows.map((row) => line(row, row[3])),
      );
    });
  });
});

/**
 * Applies what a user applies for Cilium — the CronJob overlay's ServiceAccount with the cilium and
 * keep-host-parts components — with the ClusterRole naming this suite's pools; returns a kubeconfig
 * acting as that ServiceAccount.
 */
async function grantShippedRights(cluster: TestCluster, pools: string[]): Promise<string> {
  const rendered = renderWithComponents('overlays/cronjob', [
    'components/cilium',
    'components/keep-host-parts',
  ]);
  const objects = parseAllDocuments(rendered)
    .map((d) => d.toJSON() as KubernetesObject & { rules?: { resourceNames?: string[] }[] })
    .filter((o) => o.kind !== 'CronJob' && o.kind !== 'ConfigMap');
  for (const o of objects)
    for (const rule of o.rules ?? []) if (rule.resourceNames !== undefined) rule.resourceNames = pools;
  await cluster.admin
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'metallb-system' } } });
  kubectl(['apply', '-f', '-'], {
    kubeconfig: cluster.adminKubeconfig,
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
  const handle = { access: cluster, admin: cluster.admin, runDir: cluster.runDir };
  const sa = await serviceAccountAccess('metallb-system', 'metallb-dyn6', handle);
  const file = path.join(cluster.runDir, 'cilium-sa.kubeconfig');
  writeFileSync(file, kubeconfigYaml(cluster, sa.username, sa.token), { mode: 0o600 });
  return file;
}
