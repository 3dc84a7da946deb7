// Cilium's CiliumLoadBalancerIPPool (cluster-scoped) as the pool: its blocks read as MetalLB-style
// entries for the planner and written back as blocks (see cilium-blocks.ts), every block the plan
// keeps as the object it was. cilium.io/v2 is served from Cilium 1.18; older releases serve only
// v2alpha1, so a run asks for v2 and falls back when the cluster does not serve it.
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { ApiClients } from './api-clients.js';
import { ClusterError } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import { blocksFor, blockText, type CiliumBlock } from './cilium-blocks.js';
import {
  mergePatch,
  NotServedError,
  poolRequest,
  PoolVersions,
  type PoolRefusals,
  type SeenPool,
} from './pool-resource.js';
import type { AddressPool, PoolKind, PoolRef, PoolResource } from './ports.js';

const GROUP = 'cilium.io';
const PLURAL = 'ciliumloadbalancerippools';
export const CILIUM_POOL_KIND = 'CiliumLoadBalancerIPPool';
/** Newest first: the first the cluster serves is used. */
export const CILIUM_POOL_VERSIONS = ['v2', 'v2alpha1'] as const;
type Version = (typeof CILIUM_POOL_VERSIONS)[number];

interface CiliumPool extends SeenPool {
  spec: { blocks?: CiliumBlock[] } & Record<string, unknown>;
}

export class KubeCiliumPoolResource implements PoolResource {
  private readonly api: CustomObjectsApi;
  private readonly refusals: PoolRefusals;
  private version: Version | undefined;
  /** A write starts from the blocks of the pool at the resourceVersion it was planned from. */
  private readonly versions = new PoolVersions<CiliumPool>();

  constructor(
    clients: ApiClients,
    readonly ref: PoolRef,
    private readonly counter: ApiRequests,
  ) {
    this.api = clients.get(CustomObjectsApi);
    this.refusals = {
      label: this.label,
      notServed: `the cluster does not serve ${GROUP}/${CILIUM_POOL_VERSIONS.join(' or ')} ${CILIUM_POOL_KIND}s; is Cilium (>= 1.13) with LB-IPAM installed?`,
      notFound: `check --pool (a ${CILIUM_POOL_KIND} is cluster-scoped; the pool must exist: metallb-dyn6 only updates it)`,
    };
  }

  get label(): string {
    return `${CILIUM_POOL_KIND} ${this.ref.name}`;
  }

  get kind(): PoolKind {
    return { apiVersion: `${GROUP}/${this.version ?? CILIUM_POOL_VERSIONS[0]}`, kind: CILIUM_POOL_KIND };
  }

  async read(): Promise<AddressPool> {
    return this.viewed(await (this.version === undefined ? this.discover() : this.get(this.version)));
  }

  /**
   * One merge patch at the resourceVersion we planned from (a 409 if anyone changed the pool since),
   * replacing the blocks: the kept ones as they were, ours made from the plan. The operator's
   * status updates are not edits (see PoolVersions).
   */
  write(
    resourceVersion: string,
    addresses: string[],
    annotations: Record<string, string | null>,
  ): Promise<AddressPool> {
    const planned = this.versions.at(resourceVersion);
    const version = this.version;
    if (planned === undefined || version === undefined) {
      throw new ClusterError(`writing ${this.label}: it was not read at resourceVersion ${resourceVersion}`);
    }
    const blocks = blocksFor(addresses, planned.spec.blocks ?? []);
    const send = (at: string) =>
      this.patch(version, { metadata: { resourceVersion: at, annotations }, spec: { blocks } });
    return this.versions.write(resourceVersion, send, () => this.read());
  }

  private async patch(version: Version, body: object): Promise<AddressPool> {
    return this.viewed(
      await poolRequest(this.counter, this.refusals, 'writing', () =>
        this.api.patchClusterCustomObject(
          { group: GROUP, version, plural: PLURAL, name: this.ref.name, body },
          mergePatch,
        ),
      ),
    );
  }

  /** The pool at the newest version the cluster serves, which later requests of the run use. */
  private async discover(): Promise<unknown> {
    const [newest, older] = CILIUM_POOL_VERSIONS;
    try {
      const object = await this.get(newest);
      this.version = newest;
      return object;
    } catch (error) {
      if (!(error instanceof NotServedError)) throw error;
    }
    const object = await this.get(older);
    this.version = older;
    return object;
  }

  private get(version: Version): Promise<unknown> {
    return poolRequest(this.counter, this.refusals, 'reading', () =>
      this.api.getClusterCustomObject({ group: GROUP, version, plural: PLURAL, name: this.ref.name }),
    );
  }

  /** The pool as the sync sees it; refused when it is not a pool or a block names no address. */
  private viewed(object: unknown): AddressPool {
    const pool = object as Partial<CiliumPool> | null;
    const blocks: unknown = pool?.spec?.blocks ?? [];
    if (
      typeof pool?.metadata?.resourceVersion !== 'string' ||
      pool.spec === undefined ||
      !Array.isArray(blocks)
    ) {
      throw new ClusterError(`${this.label} has no spec.blocks list`);
    }
    const addresses = blocks.map((block: unknown, i) => {
      const text = isBlock(block) ? blockText(block) : undefined;
      if (text === undefined) {
        throw new ClusterError(
          `${this.label}: block ${String(i + 1)} (${JSON.stringify(block)}) has neither a cidr nor a start; fix the pool first`,
        );
      }
      return text;
    });
    this.versions.saw(pool as CiliumPool);
    return { metadata: pool.metadata, spec: { ...pool.spec, addresses } };
  }
}

function isBlock(value: unknown): value is CiliumBlock {
  if (typeof value !== 'object' || value === null) return false;
  const { cidr, start, stop } = value as Record<string, unknown>;
  return [cidr, start, stop].every((field) => field === undefined || typeof field === 'string');
}
