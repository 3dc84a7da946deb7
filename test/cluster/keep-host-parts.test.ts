// Stable host numbering against the real apiserver and its RBAC: without the component's
// ClusterRole a run says what to grant and still syncs the pool; with it a dry run lists the moves
// and writes nothing, a run pins the Service, and a patch at a stale resourceVersion is refused.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ApiClients } from '../../lib/cluster/api-clients.js';
import { ApiRequests, requestLimits } from '../../lib/cluster/api-requests.js';
import { KubeServiceResource, ServiceConflictError } from '../../lib/cluster/service-resource.js';
import { PIN_ANNOTATION, PINNED_BY_US_ANNOTATION } from '../../lib/plan/host-parts.js';
import { OWNED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { kubeConfigFor, kubeconfigYaml } from '../../devcluster/kubeconfig.js';
import { createLoadBalancer } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig, sharedCluster } from '../../devcluster/shared-cluster.js';
import { runCli, startCli } from '../../devcluster/cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { exclusiveDuringSuite, LOAD_BALANCER_SERVICES } from '../support/exclusive.js';
import { grantKeepHostParts, homeCluster, range, type HomeCluster } from '../../devcluster/home-cluster.js';

// Each test its own /64s, and its Service deleted afterwards: a run keeping host parts lists every
// Service in the shared cluster, and would move another test's Service in the same range.
let subnet = 0xb0;
let homes: HomeCluster[] = [];
const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A home on the old prefix with one Service MetalLB numbered ::1005 (its status written as MetalLB would). */
async function homeWithService(
  prefix: string,
  synced = false,
): Promise<{
  home: HomeCluster;
  OLD: string;
  NEW: string;
  env: (extra?: Record<string, string>) => Record<string, string>;
}> {
  subnet++;
  const OLD = `2a02:8071:1234:${subnet.toString(16)}00`;
  const NEW = `2a02:8071:1234:${subnet.toString(16)}cd`;
  // synced: the pool as metallb-dyn6 left it, its record naming the entry it owns.
  const annotations = synced ? { [OWNED_ANNOTATION]: JSON.stringify([range(OLD)]) } : {};
  const home = await homeCluster(prefix, { addresses: ['192.168.178.240/28', range(OLD)], annotations });
  homes.push(home);
  const { namespace } = home;
  await createLoadBalancer(admin, namespace, 'web', { annotations: { 'team/owner': 'home-lab' } });
  await core.patchNamespacedServiceStatus(
    { namespace, name: 'web', body: { status: { loadBalancer: { ingress: [{ ip: `${OLD}::1005` }] } } } },
    mergePatch,
  );
  const env = (extra: Record<string, string> = {}) =>
    home.env({ METALLB_DYN6_KEEP_HOST_PARTS: 'all', METALLB_DYN6_SOURCE: `static:${NEW}::9`, ...extra });
  return { home, OLD, NEW, env };
}

const readWeb = (home: HomeCluster) => core.readNamespacedService({ namespace: home.namespace, name: 'web' });

describe('keeping host parts on the real apiserver', () => {
  exclusiveDuringSuite(LOAD_BALANCER_SERVICES);
  afterEach(async () => {
    for (const home of homes) await core.deleteNamespacedService({ namespace: home.namespace, name: 'web' });
    homes = [];
  });

  it('without the ClusterRole: says exactly what to grant, syncs the pool anyway, and records a Warning on it', async () => {
    const { home, NEW, env } = await homeWithService('keep-norbac');
    const web = await readWeb(home);
    const run = await runCli(['sync'], env());
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ status: 'updated', after: ['192.168.178.240/28', range(NEW)] });
    expect(run.result?.services?.skipped).toMatch(
      /^listing Services in all namespaces: forbidden \(403\): .*cannot list resource "services".*\. Keeping host parts \(and publishing with --nptv6\) needs list, get and patch on Services in every namespace: add the kustomize component deploy\/components\/keep-host-parts \(deploy\/components\/nptv6 with --nptv6\), or the same ClusterRole yourself, or set --keep-host-parts \/ METALLB_DYN6_KEEP_HOST_PARTS to none$/,
    );
    expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(NEW)]);
    expect((await readWeb(home)).metadata?.resourceVersion).toBe(web.metadata?.resourceVersion);
    const events = (await core.listNamespacedEvent({ namespace: home.namespace })).items;
    expect(events.find((e) => e.reason === 'HostPartsNotKept')?.message).toMatch(
      /deploy\/components\/keep-host-parts/,
    );
  });

  it('with the component: a dry run lists the move and writes nothing; the run pins the Service and records it', async () => {
    const { home, OLD, NEW, env } = await homeWithService('keep-rbac');
    await grantKeepHostParts(home);
    const web = await readWeb(home);
    const pool = await home.readPool();

    const dry = await runCli(['sync', '--dry-run', '--output', 'text'], env());
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`  service: ${home.namespace}/web ${OLD}::1005 -> ${NEW}::1005`);
    expect((await readWeb(home)).metadata?.resourceVersion).toBe(web.metadata?.resourceVersion);
    expect(await home.readPool()).toEqual(pool);

    const run = await runCli(['sync'], env());
    expect(run.result).toMatchObject({
      status: 'updated',
      services: {
        mode: 'all',
        changed: [
          {
            service: `${home.namespace}/web`,
            kind: 'pin',
            moved: [{ from: `${OLD}::1005`, to: `${NEW}::1005` }],
          },
        ],
      },
    });
    const after = await readWeb(home);
    // MetalLB v0.14.9 runs here: the pin is written with the annotation it reads first.
    expect(after.metadata?.annotations).toEqual({
      'team/owner': 'home-lab',
      [PIN_ANNOTATION]: `${NEW}::1005`,
      [PINNED_BY_US_ANNOTATION]: `${NEW}::1005`,
    });
    expect(after.spec).toEqual(web.spec);
    const events = (await core.listNamespacedEvent({ namespace: home.namespace })).items;
    expect(events.find((e) => e.reason === 'HostPartsKept')?.message).toBe(
      `${home.namespace}/web ${OLD}::1005 → ${NEW}::1005`,
    );
  });

  it('killed between the Services and the pool write: once its claim lapses, a run finding the pool unchanged moves the pin back; a later change moves it again', async () => {
    const { home, OLD, NEW, env } = await homeWithService('keep-killed', true);
    await grantKeepHostParts(home);
    const proxy = await startFaultProxy(sharedCluster().server, sharedCluster().runDir);
    try {
      const kubeconfig = path.join(sharedCluster().runDir, 'kubeconfigs', `${home.namespace}-proxied.yaml`);
      writeFileSync(
        kubeconfig,
        kubeconfigYaml({ ...sharedCluster(), server: proxy.server }, home.username, home.token),
        {
          mode: 0o600,
        },
      );
      const pool = new RegExp(`^/apis/metallb\\.io/v1beta1/namespaces/${home.namespace}/ipaddresspools/`);
      // The first pool PATCH records the move; the second, of the addresses, never answers.
      proxy.inject([{ method: 'PATCH', url: pool, skip: 1, fault: 'stall', times: Infinity }]);
      const started = startCli(['sync', '--reload-timeout', '5'], env({ KUBECONFIG: kubeconfig }), 60_000);
      for (let waited = 0; proxy.broken.length === 0 && waited < 30_000; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
      expect(proxy.broken).toHaveLength(1);
      started.child.kill('SIGKILL');
      await started.done;
    } finally {
      await proxy.close();
    }
    // What the kill left: the Service pinned to a prefix no pool holds, and the record naming it.
    expect((await readWeb(home)).metadata?.annotations?.[PIN_ANNOTATION]).toBe(`${NEW}::1005`);
    const left = await home.readPool();
    expect(left.spec.addresses).toEqual(['192.168.178.240/28', range(OLD)]);
    const moving = JSON.parse(left.metadata.annotations?.['metallb-dyn6/services-moving'] ?? '{}') as {
      to?: string;
      until?: string;
    };
    expect(moving.to).toBe(`${NEW}::/64`);

    // While the record holds, a run finding the pool right leaves the Services to the run that moved them.
    const early = await runCli(['sync'], env({ METALLB_DYN6_SOURCE: `static:${OLD}::9` }));
    expect({ code: early.code, status: early.result?.status }).toEqual({ code: 0, status: 'unchanged' });
    expect((await readWeb(home)).metadata?.annotations?.[PIN_ANNOTATION]).toBe(`${NEW}::1005`);
    expect(await home.readPool()).toEqual(left);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(moving.until ?? '') - Date.now()) + 100));

    const repaired = await runCli(['sync'], env({ METALLB_DYN6_SOURCE: `static:${OLD}::9` }));
    expect(repaired.result).toMatchObject({
      status: 'unchanged',
      services: {
        changed: [
          { service: `${home.namespace}/web`, moved: [{ from: `${NEW}::1005`, to: `${OLD}::1005` }] },
        ],
      },
    });
    expect((await readWeb(home)).metadata?.annotations).toEqual({
      'team/owner': 'home-lab',
      [PIN_ANNOTATION]: `${OLD}::1005`,
      [PINNED_BY_US_ANNOTATION]: `${OLD}::1005`,
    });
    expect((await home.readPool()).metadata.annotations).not.toHaveProperty(['metallb-dyn6/services-moving']);

    const later = await runCli(['sync'], env());
    expect(later.result).toMatchObject({ status: 'updated', after: ['192.168.178.240/28', range(NEW)] });
    expect((await readWeb(home)).metadata?.annotations?.[PIN_ANNOTATION]).toBe(`${NEW}::1005`);
  }, 120_000);

  it("one tenant's Service with annotations at the 256 KiB limit is refused (422) and reported; the pool and the other Services move", async () => {
    const { home, OLD, NEW, env } = await homeWithService('keep-huge', true);
    await grantKeepHostParts(home);
    const { namespace } = home;
    // 30 bytes under the apiserver's limit on all annotations together (262,144 bytes of keys and
    // values): the ~90 bytes of a pin and its record push it over.
    await createLoadBalancer(admin, namespace, 'huge', {
      annotations: { 'tenant/blob': 'x'.repeat(262_144 - 'tenant/blob'.length - 30) },
    });
    await core.patchNamespacedServiceStatus(
      { namespace, name: 'huge', body: { status: { loadBalancer: { ingress: [{ ip: `${OLD}::1007` }] } } } },
      mergePatch,
    );
    const huge = await core.readNamespacedService({ namespace, name: 'huge' });
    const run = await runCli(['sync'], env());
    expect({ code: run.code, status: run.result?.status, after: run.result?.after }).toEqual({
      code: 0,
      status: 'updated',
      after: ['192.168.178.240/28', range(NEW)],
    });
    expect(run.result?.services?.changed.map((c) => c.service)).toEqual([`${namespace}/web`]);
    const refused = run.result?.services?.notKept ?? [];
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ service: `${namespace}/huge`, address: `${OLD}::1007` });
    expect(refused[0]?.reason).toMatch(/^patching Service .*\/huge: HTTP 422: .*262144/);
    // The echo of the apiserver's answer is bounded, whatever the object held.
    expect(run.stdout.length).toBeLessThan(8_000);
    expect((await readWeb(home)).metadata?.annotations?.[PIN_ANNOTATION]).toBe(`${NEW}::1005`);
    expect((await core.readNamespacedService({ namespace, name: 'huge' })).metadata?.resourceVersion).toBe(
      huge.metadata?.resourceVersion,
    );
    await core.deleteNamespacedService({ namespace, name: 'huge' });
  });

  it('a Service patch at a stale resourceVersion is refused (409), so a concurrent edit is never overwritten', async () => {
    const { home, OLD, NEW } = await homeWithService('keep-conflict');
    await grantKeepHostParts(home);
    const clients = new ApiClients(kubeConfigFor(sharedCluster(), 'sa', home.token));
    const services = new KubeServiceResource(
      clients,
      new ApiRequests(requestLimits(10_000, new AbortController().signal)),
    );
    const ref = { namespace: home.namespace, name: 'web' };
    const seen = await services.get(ref);
    if (seen === undefined) throw new Error('web is a LoadBalancer Service');
    expect(seen.ingress).toEqual([`${OLD}::1005`]);
    await core.patchNamespacedService(
      { ...ref, body: { metadata: { annotations: { 'team/owner': 'alice' } } } },
      mergePatch,
    );
    await expect(
      services.patch(ref, seen.resourceVersion, { annotations: { [PIN_ANNOTATION]: `${NEW}::1005` } }),
    ).rejects.toBeInstanceOf(ServiceConflictError);
    expect((await readWeb(home)).metadata?.annotations).toEqual({ 'team/owner': 'alice' });
    // The pool is untouched by any of this.
    expect(
      (
        (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
          group: 'metallb.io',
          version: 'v1beta1',
          plural: 'ipaddresspools',
          namespace: home.namespace,
          name: home.pool,
        })) as { spec: { addresses: string[] } }
      ).spec.addresses,
    ).toEqual(['192.168.178.240/28', range(OLD)]);
  });
});
