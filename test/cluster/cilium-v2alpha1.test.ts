// Cilium before 1.18 serves its pools only as cilium.io/v2alpha1; those releases do not build from
// the module proxy here, so their API is stood in for by a CRD serving only v2alpha1 on the shared
// control plane (the apiserver is real; no operator runs). A sync falls back to v2alpha1, writes the
// pool there, and names that version on its Events.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { runCli } from '../../devcluster/cli.js';
import { established } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig, sharedCluster } from '../../devcluster/shared-cluster.js';
import { OWNED_ANNOTATION } from '../../lib/plan/pool-record.js';

const CRD = 'ciliumloadbalancerippools.cilium.io';
const POOLS = { group: 'cilium.io', version: 'v2alpha1', plural: 'ciliumloadbalancerippools' } as const;
const OLD = '2a02:8071:1234:5900';
const NEW = '2a02:8071:1234:59cd';

describe('a cluster that serves Cilium pools only as cilium.io/v2alpha1 (Cilium < 1.18)', () => {
  const admin = adminKubeConfig();
  const extensions = admin.makeApiClient(ApiextensionsV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);

  beforeAll(async () => {
    await extensions.createCustomResourceDefinition({
      body: {
        metadata: { name: CRD },
        spec: {
          group: 'cilium.io',
          scope: 'Cluster',
          names: {
            kind: 'CiliumLoadBalancerIPPool',
            listKind: 'CiliumLoadBalancerIPPoolList',
            plural: 'ciliumloadbalancerippools',
            singular: 'ciliumloadbalancerippool',
          },
          versions: [
            {
              name: 'v2alpha1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    await established(extensions, CRD);
  });

  afterAll(async () => {
    await extensions.deleteCustomResourceDefinition({ name: CRD });
  });

  it('syncs the pool through v2alpha1 and names that version on its Events', async () => {
    await custom.createClusterCustomObject({
      ...POOLS,
      body: {
        apiVersion: 'cilium.io/v2alpha1',
        kind: 'CiliumLoadBalancerIPPool',
        metadata: { name: 'old-cilium' },
        spec: { blocks: [{ cidr: '10.9.0.0/28' }, { start: `${OLD}::1000`, stop: `${OLD}::1999` }] },
      },
    });
    const run = await runCli(['sync'], {
      KUBECONFIG: sharedCluster().adminKubeconfig,
      METALLB_DYN6_BACKEND: 'cilium',
      METALLB_DYN6_METALLB_POOL: 'old-cilium',
      METALLB_DYN6_HOST_RANGE: '::1000-::1999',
      METALLB_DYN6_SOURCE: `static:${NEW}::9`,
    });
    expect(run.result).toMatchObject({
      status: 'updated',
      after: ['10.9.0.0/28', `${NEW}::1000-${NEW}::1999`],
    });
    const pool = (await custom.getClusterCustomObject({ ...POOLS, name: 'old-cilium' })) as {
      metadata: { annotations?: Record<string, string> };
      spec: { blocks: unknown[] };
    };
    expect(pool.spec.blocks).toEqual([
      { cidr: '10.9.0.0/28' },
      { start: `${NEW}::1000`, stop: `${NEW}::1999` },
    ]);
    expect(JSON.parse(pool.metadata.annotations?.[OWNED_ANNOTATION] ?? '[]')).toEqual([
      `${NEW}::1000-${NEW}::1999`,
    ]);
    const events = (await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' })).items;
    expect(
      events
        .filter((e) => e.involvedObject.name === 'old-cilium')
        .map((e) => [e.involvedObject.apiVersion, e.involvedObject.kind, e.reason]),
    ).toContainEqual(['cilium.io/v2alpha1', 'CiliumLoadBalancerIPPool', 'AddressesUpdated']);
  });

  it('says which pools it looked for when --pool names none', async () => {
    const run = await runCli(['sync'], {
      KUBECONFIG: sharedCluster().adminKubeconfig,
      METALLB_DYN6_BACKEND: 'auto',
      METALLB_DYN6_METALLB_POOL: 'nowhere',
      METALLB_DYN6_HOST_RANGE: '::1000-::1999',
      METALLB_DYN6_SOURCE: `static:${NEW}::9`,
    });
    expect(run.code).not.toBe(0);
    expect(run.result).toMatchObject({ status: 'failed', stage: 'read' });
    expect(run.result?.error).toBe(
      '--backend auto: no pool found: IPAddressPool metallb-system/nowhere not found; check --pool and --namespace (the pool must exist: metallb-dyn6 only updates it); CiliumLoadBalancerIPPool nowhere not found; check --pool (a CiliumLoadBalancerIPPool is cluster-scoped; the pool must exist: metallb-dyn6 only updates it)',
    );
  });
});
