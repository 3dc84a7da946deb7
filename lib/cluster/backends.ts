// The two load balancers whose pools metallb-dyn6 keeps (external-dns's providers): each is a pool
// resource and the load balancer that takes it. `auto` finds which one the cluster has the pool in.
import type { BackendChoice } from '../config/choices.js';
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import type { ApiClients } from './api-clients.js';
import type { ApiRequests } from './api-requests.js';
import { CiliumLBIPAM } from './cilium-lbipam.js';
import { KubeCiliumPoolResource } from './cilium-pool-resource.js';
import { MetalLB } from './metallb.js';
import { KubeMetalLBPods } from './metallb-pods.js';
import { KubePoolResource } from './pool-resource.js';
import type { LoadBalancer, PoolResource } from './ports.js';

export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface Backend {
  name: BackendName;
  pool: PoolResource;
  loadBalancer: LoadBalancer;
}

/** Where the pool is: its name, and MetalLB's namespace (its pool's and its pods'). */
export interface PoolPlace {
  pool: { namespace: string; name: string };
  /** Tried in order until one matches MetalLB's pods. */
  labelSelectors: readonly string[];
}

/** The pool as reports name it before it is read: MetalLB's with its namespace, a cluster-scoped one by name. */
export const poolNameFor = (choice: BackendChoice, { pool }: PoolPlace): string =>
  choice === 'metallb' ? `${pool.namespace}/${pool.name}` : pool.name;

export function backendFor(
  name: BackendName,
  clients: ApiClients,
  place: PoolPlace,
  counter: ApiRequests,
): Backend {
  if (name === 'cilium') {
    const pool = new KubeCiliumPoolResource(clients, { name: place.pool.name }, counter);
    return { name, pool, loadBalancer: new CiliumLBIPAM() };
  }
  const pods = { namespace: place.pool.namespace, labelSelectors: place.labelSelectors };
  return {
    name,
    pool: new KubePoolResource(clients, place.pool, counter),
    loadBalancer: new MetalLB(new KubeMetalLBPods(clients, pods, counter)),
  };
}

/**
 * The chosen backend; for `auto`, the one whose pool named --pool the cluster has (a CRD it does not
 * serve has no pool), and why. Both or neither is an error naming what was looked for.
 */
export async function chooseBackend(
  choice: BackendChoice,
  clients: ApiClients,
  place: PoolPlace,
  counter: ApiRequests,
): Promise<Result<{ backend: Backend; why?: string }>> {
  if (choice !== 'auto') return ok({ backend: backendFor(choice, clients, place, counter) });
  const looked = await Promise.all(
    (['metallb', 'cilium'] as const).map(async (name) => {
      const backend = backendFor(name, clients, place, counter);
      try {
        await backend.pool.read();
        return { backend };
      } catch (error) {
        return { backend, missing: errorText(error) };
      }
    }),
  );
  const found = looked.filter((l) => l.missing === undefined).map((l) => l.backend);
  const [only] = found;
  if (found.length === 1 && only !== undefined) {
    return ok({ backend: only, why: `--backend auto: the cluster has ${only.pool.label}` });
  }
  if (found.length > 1) {
    return fail(
      `--backend auto: the cluster has both ${found.map((b) => b.pool.label).join(' and ')}; choose one with --backend metallb or --backend cilium`,
    );
  }
  return fail(`--backend auto: no pool found: ${looked.map((l) => l.missing).join('; ')}`);
}
