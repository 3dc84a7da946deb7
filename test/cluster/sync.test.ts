import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { KubePoolResource } from '../../lib/cluster/pool-resource.js';
import { podReady } from '../../lib/cluster/metallb-pods.js';
import { OWNED_ANNOTATION, RELOAD_OWED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { METALLB_SELECTOR, POOL, setPodsNeverReady } from '../../devcluster/metallb-fixture.js';
import { kubeConfigFor } from '../../devcluster/kubeconfig.js';
import { adminKubeConfig, auditSettled, sharedCluster } from '../../devcluster/shared-cluster.js';
import { apiOutcome } from '../support/api-outcome.js';
import { runCli } from '../../devcluster/cli.js';
import { startHttpStub, type HttpStub } from '../support/http-stub.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD } from '../../devcluster/home-cluster.js';
import type { AddressPool } from '../../lib/cluster/ports.js';
import { syncOntoNewPrefix } from '../support/sync-settings.js';

const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function metallbPods(namespace: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: METALLB_SELECTOR })).items;
}
/** The Events metallb-dyn6 recorded on pools in a namespace. */
async function poolEvents(namespace: string) {
  const events = (await core.listNamespacedEvent({ namespace })).items.filter(
    (e) => e.involvedObject.kind === 'IPAddressPool',
  );
  return events.map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
}
const names = (pods: V1Pod[]) => pods.map((p) => p.metadata?.name ?? '').sort();

describe('sync against the real control plane', () => {
  let stub: HttpStub;
  beforeAll(async () => {
    stub = await startHttpStub({
      '/ip': { body: `${SUBNET_NEW}::9` },
      '/html': {
        body: '<html><body>502 Bad Gateway</body></html>',
        headers: { 'content-type': 'text/html' },
      },
    });
  });
  afterAll(async () => {
    await stub.close();
  });

  it('patches the pool on a prefix change and cycles an old MetalLB until its pods are Ready again', async () => {
    const home = await homeCluster('sync-v013', { metallbVersion: 'v0.13.12' });
    const before = await metallbPods(home.namespace);
    const run = await runCli(['sync'], home.env());
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({
      status: 'updated',
      prefix: `${SUBNET_NEW}::/64`,
      before: ['192.168.178.240/28', range(SUBNET_OLD)],
      after: ['192.168.178.240/28', range(SUBNET_NEW)],
      reload: {
        action: 'cycled',
        metallbImage: 'quay.io/metallb/controller:v0.13.12',
        deletedPods: names(before),
      },
    });
    const pool = await home.readPool();
    expect(pool.spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
    expect(pool.metadata.annotations).toMatchObject({
      [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_NEW)]),
      'metallb-dyn6/last-prefix': `${SUBNET_NEW}::/64`,
      'metallb-dyn6/last-sync': expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const after = await metallbPods(home.namespace);
    expect(after).toHaveLength(before.length);
    expect(after.every(podReady)).toBe(true);
    expect(names(after).filter((n) => names(before).includes(n))).toEqual([]);
    const trail = await auditSettled(home);
    // The pods' version is read before the write, which records the restart it makes owed; the
    // second patch clears that mark once the replacements are Ready.
    expect(trail.slice(0, 4)).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'patch ipaddresspools 200',
      'deletecollection pods 200',
    ]);
    expect(trail.filter((t) => t.startsWith('patch'))).toHaveLength(2);
    expect((await home.readPool()).metadata.annotations).not.toHaveProperty([RELOAD_OWED_ANNOTATION]);
    expect(await poolEvents(home.namespace)).toEqual([
      {
        type: 'Normal',
        reason: 'AddressesUpdated',
        message: expect.stringContaining(
          `added ${range(SUBNET_NEW)}; removed ${range(SUBNET_OLD)}; MetalLB reload cycled`,
        ),
      },
    ]);
    expect({ trail, n: run.result?.apiRequests }).toEqual({ trail, n: trail.length });
  });

  it('leaves MetalLB 0.14.9 running: it reloads pools by itself', async () => {
    const home = await homeCluster('sync-v014');
    const before = await metallbPods(home.namespace);
    const run = await runCli(['sync', '--output', 'json'], home.env());
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({
      status: 'updated',
      reload: { action: 'skipped', reason: expect.stringMatching(/v0\.14\.9 reloads pools by itself/) },
    });
    expect(names(await metallbPods(home.namespace))).toEqual(names(before));
    expect(await auditSettled(home)).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'patch ipaddresspools 200',
      'create events 201',
    ]);
  });

  it('makes exactly one source request and one pool GET, and no write, when nothing changed', async () => {
    const home = await homeCluster('sync-noop', {
      addresses: ['192.168.178.240/28', range(SUBNET_NEW)],
      annotations: { [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_NEW)]) },
    });
    const rv = (await home.readPool()).metadata.resourceVersion;
    const hitsBefore = stub.hits.get('/ip') ?? 0;
    const run = await runCli([], home.env({ METALLB_DYN6_SOURCE: `url:${stub.url}/ip` }));
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ status: 'unchanged', apiRequests: 1 });
    expect((stub.hits.get('/ip') ?? 0) - hitsBefore).toBe(1);
    expect(await auditSettled(home)).toEqual(['get ipaddresspools 200']);
    expect((await home.readPool()).metadata.resourceVersion).toBe(rv);
  });

  it('prints the diff and writes nothing on a dry run', async () => {
    const home = await homeCluster('sync-dry');
    const before = await home.readPool();
    const run = await runCli(['sync', '--output', 'text'], home.env({ METALLB_DYN6_DRY_RUN: 'true' }));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dry-run:');
    expect(run.stdout).toContain(`- ${range(SUBNET_OLD)}`);
    expect(run.stdout).toContain(`+ ${range(SUBNET_NEW)}`);
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual(['get ipaddresspools 200']);
  });

  it('keeps an edit someone made between our read and our write', async () => {
    const home = await homeCluster('sync-race');
    class RacingPoolClient extends KubePoolResource {
      private raced = false;
      override async read(): Promise<AddressPool> {
        const pool = await super.read();
        if (!this.raced) {
          this.raced = true;
          await admin.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
            {
              ...POOL,
              namespace: home.namespace,
              name: home.pool,
              body: { spec: { addresses: [...pool.spec.addresses, '10.10.0.0/24'] } },
            },
            mergePatch,
          );
        }
        return pool;
      }
    }
    const result = await syncOntoNewPrefix(home, RacingPoolClient);
    expect(result.status).toBe('updated');
    expect((await home.readPool()).spec.addresses).toEqual([
      '192.168.178.240/28',
      range(SUBNET_NEW),
      '10.10.0.0/24',
    ]);
    // After the 409, the pool is read to see whether only its status moved (MetalLB >= 0.15 writes
    // it), then, the spec having changed, read again for the sync to plan anew.
    expect(await auditSettled(home)).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'patch ipaddresspools 409',
      'get ipaddresspools 200',
      'get ipaddresspools 200',
      'patch ipaddresspools 200',
      'create events 201',
    ]);
  });

  it('restores the pool byte for byte and exits 1 when MetalLB does not come back', async () => {
    const home = await homeCluster('sync-rollback', {
      metallbVersion: 'v0.13.12',
      annotations: { 'team/owner': 'home-lab' },
    });
    const before = await home.readPool();
    await setPodsNeverReady(admin, home.namespace, true);
    const run = await runCli(['sync', '--reload-timeout', '2'], home.env());
    expect(run.code).toBe(1);
    expect(run.result).toMatchObject({
      status: 'rolled-back',
      error: expect.stringMatching(
        /MetalLB did not come back within 2 s: 0 of 4 replacement pods Ready.*pool restored/,
      ),
    });
    const after = await home.readPool();
    expect(after.spec).toEqual(before.spec);
    // Byte for byte but for one mark: MetalLB did not come back on the restored pool either, so a
    // restart is still owed, and the next run makes it.
    expect(after.metadata.annotations).toEqual({
      ...before.metadata.annotations,
      [RELOAD_OWED_ANNOTATION]: expect.any(String),
    });
    const trail = await auditSettled(home);
    // The write, the restore (claiming the restart on it), and that restart handed on unclaimed.
    expect(trail.filter((t) => t.startsWith('patch'))).toEqual([
      'patch ipaddresspools 200',
      'patch ipaddresspools 200',
      'patch ipaddresspools 200',
    ]);
    expect(after.metadata.annotations?.[RELOAD_OWED_ANNOTATION]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(await poolEvents(home.namespace)).toEqual([
      {
        type: 'Warning',
        reason: 'RolledBack',
        message: expect.stringMatching(/MetalLB did not come back.*restored 192\.168\.178\.240\/28, /),
      },
    ]);
    expect(JSON.parse(run.stderr.trim().split('\n').pop() ?? '{}')).toMatchObject({
      level: 'error',
      msg: 'sync failed',
    });
  });

  it('fails clearly, writing nothing, when the pool is missing or the namespace is wrong', async () => {
    const home = await homeCluster('sync-missing', { noPool: true });
    const missing = await runCli([], home.env());
    expect(missing.code).toBe(1);
    expect(missing.result?.error).toBe(
      `IPAddressPool ${home.namespace}/ipv6-pool not found; check --pool and --namespace (the pool must exist: metallb-dyn6 only updates it)`,
    );

    const wrongNamespace = await runCli([], home.env({ METALLB_DYN6_METALLB_NAMESPACE: 'metallb' }));
    expect(wrongNamespace.code).toBe(1);
    expect(wrongNamespace.result?.error).toMatch(
      /^reading IPAddressPool metallb\/ipv6-pool: forbidden \(403\).*check the Role/,
    );

    const asAdmin = await runCli(
      [],
      home.env({
        KUBECONFIG: sharedCluster().adminKubeconfig,
        METALLB_DYN6_METALLB_NAMESPACE: 'no-such-namespace',
      }),
    );
    expect(asAdmin.code).toBe(1);
    expect(asAdmin.result?.error).toMatch(/IPAddressPool no-such-namespace\/ipv6-pool not found/);
    // The two runs as the service account read, were refused, wrote nothing, and said so in an
    // Event where the Role allows it (not in a namespace it has no rights in).
    expect(await auditSettled(home)).toEqual([
      'get ipaddresspools 404',
      'create events 201',
      'get ipaddresspools 403',
      'create events 403',
    ]);
  });

  it('writes nothing when the source answers garbage', async () => {
    const home = await homeCluster('sync-garbage');
    const before = await home.readPool();
    const run = await runCli([], home.env({ METALLB_DYN6_SOURCE: `url:${stub.url}/html` }));
    expect(run.code).toBe(1);
    expect(run.result).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^source url:.*\/html: answer "<html>.*is not an IPv6 address$/),
    });
    expect(await home.readPool()).toEqual(before);
    // Not read, not written: only the Warning Event saying why.
    expect(await auditSettled(home)).toEqual(['create events 201']);
  });

  it('checks the whole configuration before any network call: exit 2, one line per problem', async () => {
    const home = await homeCluster('sync-config');
    const hits = stub.hits.get('/ip') ?? 0;
    const run = await runCli(
      ['sync', '--host-range', '::1999-::1000', '--subnet-override', '0:0:0:cd::'],
      home.env({ METALLB_DYN6_SOURCE: `url:${stub.url}/ip` }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'metallb-dyn6: --host-range / METALLB_DYN6_HOST_RANGE: host range "::1999-::1000": reversed range, ::1999 comes after ::1000',
      'metallb-dyn6: --subnet-override / METALLB_DYN6_SUBNET_OVERRIDE and --prefix-length / METALLB_DYN6_PREFIX_LENGTH must be given together',
    ]);
    expect(run.stdout).toBe('');
    expect(stub.hits.get('/ip') ?? 0).toBe(hits);
    expect(await auditSettled(home)).toEqual([]);
  });
});

describe('the shipped Role', () => {
  it('denies everything the sync does not need', async () => {
    const home = await homeCluster('rbac');
    const kc = kubeConfigFor(sharedCluster(), 'sa', home.token);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const pods = kc.makeApiClient(CoreV1Api);
    await admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...POOL,
      namespace: home.namespace,
      body: {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'ipv4' },
        spec: { addresses: ['10.0.0.0/24'] },
      },
    });
    const victim = (await metallbPods(home.namespace))[0]?.metadata?.name ?? '';
    expect({
      getOwnPool: await apiOutcome(
        custom.getNamespacedCustomObject({ ...POOL, namespace: home.namespace, name: home.pool }),
      ),
      getOtherPool: await apiOutcome(
        custom.getNamespacedCustomObject({ ...POOL, namespace: home.namespace, name: 'ipv4' }),
      ),
      patchOtherPool: await apiOutcome(
        custom.patchNamespacedCustomObject(
          { ...POOL, namespace: home.namespace, name: 'ipv4', body: {} },
          mergePatch,
        ),
      ),
      listPools: await apiOutcome(custom.listNamespacedCustomObject({ ...POOL, namespace: home.namespace })),
      createPool: await apiOutcome(
        custom.createNamespacedCustomObject({
          ...POOL,
          namespace: home.namespace,
          body: {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'IPAddressPool',
            metadata: { name: 'x' },
            spec: { addresses: [] },
          },
        }),
      ),
      deleteOwnPool: await apiOutcome(
        custom.deleteNamespacedCustomObject({ ...POOL, namespace: home.namespace, name: home.pool }),
      ),
      listPods: await apiOutcome(pods.listNamespacedPod({ namespace: home.namespace })),
      deleteOnePod: await apiOutcome(pods.deleteNamespacedPod({ namespace: home.namespace, name: victim })),
      listSecrets: await apiOutcome(pods.listNamespacedSecret({ namespace: home.namespace })),
      listPodsElsewhere: await apiOutcome(pods.listNamespacedPod({ namespace: 'default' })),
      listNodes: await apiOutcome(pods.listNode()),
    }).toEqual({
      getOwnPool: 200,
      getOtherPool: 403,
      patchOtherPool: 403,
      listPools: 403,
      createPool: 403,
      deleteOwnPool: 403,
      listPods: 200,
      deleteOnePod: 403,
      listSecrets: 403,
      listPodsElsewhere: 403,
      listNodes: 403,
    });
  });
});
