import { describe, expect, it } from '@jest/globals';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  createPool,
  installMetalLB,
  METALLB_SELECTOR,
  POOL,
  readPool,
  waitForMetalLBReady,
} from '../../devcluster/metallb-fixture.js';
import { apiOutcome } from '../support/api-outcome.js';
import {
  adminKubeConfig,
  auditEvents,
  createTestNamespace,
  serviceAccountWithRole,
} from '../../devcluster/shared-cluster.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('test control plane', () => {
  const admin = adminKubeConfig();
  const custom = admin.makeApiClient(CustomObjectsApi);

  it('serves the IPAddressPool CRD as established', async () => {
    const crd = await admin
      .makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'ipaddresspools.metallb.io' });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
  });

  it('creates, defaults, validates, reads and merge-patches a pool', async () => {
    const ns = await createTestNamespace('smoke-pool');
    await createPool(admin, ns, 'ipv6', {
      addresses: ['192.168.178.240/28', '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999'],
    });
    const created = await readPool(admin, ns, 'ipv6');
    // Structural-schema defaulting done by the apiserver, as MetalLB's CRD asks.
    expect(created.spec.autoAssign).toBe(true);
    expect(created.spec.avoidBuggyIPs).toBe(false);

    const missingAddresses = custom.createNamespacedCustomObject({
      ...POOL,
      namespace: ns,
      body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'bad' }, spec: {} },
    });
    expect(await apiOutcome(missingAddresses)).toBe(422);

    await custom.patchNamespacedCustomObject(
      {
        ...POOL,
        namespace: ns,
        name: 'ipv6',
        body: {
          spec: { addresses: ['192.168.178.240/28', '2a02:8071:1234:56cd::1000-2a02:8071:1234:56cd::1999'] },
        },
      },
      mergePatch,
    );
    const patched = await readPool(admin, ns, 'ipv6');
    expect(patched.spec.addresses).toEqual([
      '192.168.178.240/28',
      '2a02:8071:1234:56cd::1000-2a02:8071:1234:56cd::1999',
    ]);
    expect(patched.spec.autoAssign).toBe(true);
    expect(patched.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
  });

  it('refuses a write carrying a stale resourceVersion with 409', async () => {
    const ns = await createTestNamespace('smoke-conflict');
    await createPool(admin, ns, 'pool', { addresses: ['2a02:8071:1234:5600::/120'] });
    const stale = await readPool(admin, ns, 'pool');
    await custom.patchNamespacedCustomObject(
      { ...POOL, namespace: ns, name: 'pool', body: { spec: { addresses: ['2a02:8071:1234:5601::/120'] } } },
      mergePatch,
    );
    const conflicting = custom.patchNamespacedCustomObject(
      {
        ...POOL,
        namespace: ns,
        name: 'pool',
        body: {
          metadata: { resourceVersion: stale.metadata.resourceVersion },
          spec: { addresses: ['2a02:8071:1234:5602::/120'] },
        },
      },
      mergePatch,
    );
    expect(await apiOutcome(conflicting)).toBe(409);
    expect((await readPool(admin, ns, 'pool')).spec.addresses).toEqual(['2a02:8071:1234:5601::/120']);
  });

  it('recreates a deleted MetalLB pod and brings it to Ready', async () => {
    const ns = await createTestNamespace('smoke-metallb');
    await installMetalLB(admin, { namespace: ns, version: 'v0.13.12' });
    const core = admin.makeApiClient(CoreV1Api);
    const controller = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'metallb-controller', namespace: ns });
    expect(controller.spec?.template.spec?.containers[0]?.image).toBe('quay.io/metallb/controller:v0.13.12');

    const before = (await core.listNamespacedPod({ namespace: ns, labelSelector: METALLB_SELECTOR })).items;
    expect(before).toHaveLength(4); // one controller, one speaker on each of three nodes
    const victim = before.find((p) => p.metadata?.labels?.['app.kubernetes.io/component'] === 'controller');
    await core.deleteNamespacedPod({ namespace: ns, name: victim?.metadata?.name ?? '' });
    await waitForMetalLBReady(admin, ns);
    const after = (await core.listNamespacedPod({ namespace: ns, labelSelector: METALLB_SELECTOR })).items;
    const names = after.map((p) => p.metadata?.name);
    expect(names).not.toContain(victim?.metadata?.name);
    const replacement = after.find(
      (p) => p.metadata?.labels?.['app.kubernetes.io/component'] === 'controller',
    );
    expect(replacement?.spec?.nodeName).toMatch(/^node-/);
    expect(replacement?.status?.containerStatuses?.[0]?.ready).toBe(true);
  });

  it('gives a user bound to a narrow Role 403 outside it, and the audit log records who asked', async () => {
    const ns = await createTestNamespace('smoke-rbac');
    await createPool(admin, ns, 'allowed', { addresses: ['2a02:8071:1234:5600::/120'] });
    await createPool(admin, ns, 'other', { addresses: ['2a02:8071:1234:5601::/120'] });
    const narrow = await serviceAccountWithRole(ns, 'narrow', [
      {
        apiGroups: ['metallb.io'],
        resources: ['ipaddresspools'],
        resourceNames: ['allowed'],
        verbs: ['get'],
      },
    ]);
    const api = narrow.kubeConfig.makeApiClient(CustomObjectsApi);
    await expect(
      api.getNamespacedCustomObject({ ...POOL, namespace: ns, name: 'allowed' }),
    ).resolves.toBeDefined();
    expect(await apiOutcome(api.getNamespacedCustomObject({ ...POOL, namespace: ns, name: 'other' }))).toBe(
      403,
    );
    const patch = api.patchNamespacedCustomObject(
      { ...POOL, namespace: ns, name: 'allowed', body: { spec: { addresses: [] } } },
      mergePatch,
    );
    expect(await apiOutcome(patch)).toBe(403);
    expect(
      await apiOutcome(narrow.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns })),
    ).toBe(403);

    const seen = auditEvents(narrow.username).map(
      (e) => `${e.verb} ${e.objectRef?.resource ?? ''} ${String(e.responseStatus?.code)}`,
    );
    expect(seen).toEqual([
      'get ipaddresspools 200',
      'get ipaddresspools 403',
      'patch ipaddresspools 403',
      'list pods 403',
    ]);
  });
});
