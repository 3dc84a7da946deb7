// MetalLB 0.15 counts the addresses it assigned from each IPAddressPool in the pool's status, and
// updates it whenever a Service gets or loses one: each update moves the pool's resourceVersion,
// which every write of ours carries. Against v0.15.3's IPAddressPool CRD on the real apiserver, a
// write planned before such updates goes through, and an edit of the pool by anyone still stops it.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ConflictError, KubePoolResource } from '../../lib/cluster/pool-resource.js';
import type { AddressPool } from '../../lib/cluster/ports.js';
import { installReleaseCrds, POOL } from '../../devcluster/metallb-fixture.js';
import { CRD_RELEASE, goToBuild, metallbRelease } from '../../devcluster/metallb-runtime.js';
import { adminKubeConfig, auditSettled } from '../../devcluster/shared-cluster.js';
import { homeClients, homeCluster, type HomeCluster } from '../../devcluster/home-cluster.js';
import { describeIf } from '../support/declared-skips.js';
import { exclusiveDuringSuite, METALLB_CRDS } from '../support/exclusive.js';
import { range, SUBNET_NEW, SUBNET_OLD, syncOntoNewPrefix, V4 } from '../support/sync-settings.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const custom = adminKubeConfig().makeApiClient(CustomObjectsApi);

/** What MetalLB's controller writes, through the status subresource only. */
async function countAssigned(home: HomeCluster, assignedIPv6: number): Promise<void> {
  const status = { assignedIPv4: 1, assignedIPv6, availableIPv4: 15, availableIPv6: 2304 - assignedIPv6 };
  await custom.patchNamespacedCustomObjectStatus(
    { ...POOL, namespace: home.namespace, name: home.pool, body: { status } },
    mergePatch,
  );
}

/** Someone's change of the pool itself. */
async function edit(home: HomeCluster, body: object): Promise<void> {
  await custom.patchNamespacedCustomObject(
    { ...POOL, namespace: home.namespace, name: home.pool, body },
    mergePatch,
  );
}

/** The pool as metallb-dyn6's service account reads and writes it, with the shipped Role. */
function poolAsSync(home: HomeCluster): KubePoolResource {
  const { clients, counter } = homeClients(home);
  return new KubePoolResource(clients, { namespace: home.namespace, name: home.pool }, counter);
}

describeIf(goToBuild('MetalLB', '1.22'), 'no-go-toolchain', "MetalLB 0.15's pool status", () => {
  // Replacing the CRD would cut short a pool watch elsewhere (see exclusive.ts).
  exclusiveDuringSuite(METALLB_CRDS);
  beforeAll(async () => {
    await installReleaseCrds(adminKubeConfig(), metallbRelease('v0.15.3'), ['ipaddresspools']);
  }, 900_000);
  afterAll(async () => {
    await installReleaseCrds(adminKubeConfig(), metallbRelease(CRD_RELEASE), ['ipaddresspools']);
  });

  it('a write planned before MetalLB updated the status goes through, at the new resourceVersion', async () => {
    const home = await homeCluster('status-write');
    const pool = poolAsSync(home);
    const before = await pool.read();
    await countAssigned(home, 2);
    await countAssigned(home, 3);
    const written = await pool.write(before.metadata.resourceVersion, [V4, range(SUBNET_NEW)], {});
    expect(written.spec.addresses).toEqual([V4, range(SUBNET_NEW)]);
    const stored = await home.readPool();
    expect(stored.spec.addresses).toEqual([V4, range(SUBNET_NEW)]);
    expect((stored as AddressPool & { status?: unknown }).status).toMatchObject({ assignedIPv6: 3 });
    expect(await auditSettled(home)).toEqual([
      'get ipaddresspools 200',
      'patch ipaddresspools 409',
      'get ipaddresspools 200',
      'patch ipaddresspools 200',
    ]);
  });

  it.each([
    ['the addresses', { spec: { addresses: [V4, range(SUBNET_OLD), '10.10.0.0/24'] } }],
    ['another field of the spec', { spec: { autoAssign: false } }],
    ['the annotations', { metadata: { annotations: { 'example.com/owner': 'someone' } } }],
    ['the labels', { metadata: { labels: { team: 'network' } } }],
  ])('an edit of %s after MetalLB updated the status still stops the write, and stays', async (_, body) => {
    const home = await homeCluster('status-edit');
    const pool = poolAsSync(home);
    const before = await pool.read();
    await countAssigned(home, 2);
    await edit(home, body);
    const edited = await home.readPool();
    await expect(pool.write(before.metadata.resourceVersion, [V4, range(SUBNET_NEW)], {})).rejects.toThrow(
      ConflictError,
    );
    expect(await home.readPool()).toEqual(edited);
  });

  it('a sync while MetalLB updates the status after each of its reads is one write, not a give-up', async () => {
    const home = await homeCluster('status-sync');
    // More updates than conflicts a sync tolerates (MAX_CONFLICTS): the way MetalLB counts Services
    // one by one as they move to their new addresses, which made a keep-host-parts run give up.
    let updates = 0;
    class CountedPool extends KubePoolResource {
      override async read(): Promise<AddressPool> {
        const read = await super.read();
        if (updates < 4) await countAssigned(home, ++updates);
        return read;
      }
    }
    const result = await syncOntoNewPrefix(home, CountedPool);
    expect({ status: result.status, error: result.error }).toEqual({ status: 'updated', error: undefined });
    expect((await home.readPool()).spec.addresses).toEqual([V4, range(SUBNET_NEW)]);
    expect(updates).toBe(4);
  });
});
