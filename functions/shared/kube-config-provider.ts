// Where a function adapter gets its cluster credentials: asked once per sync, so platforms with
// expiring credentials (EKS) can hand out fresh ones; in-cluster ones load on first use and stay.
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../lib/cluster/kube-config.js';

/** Returns the current KubeConfig; the same object until its credentials need renewing. */
export type KubeConfigProvider = () => Promise<KubeConfig>;

/**
 * `file`, else client-node's default order ($KUBECONFIG, ~/.kube/config, the service account), read on the
 * first sync rather than at import, so a function with a bad configuration still starts and says so.
 */
export function defaultKubeConfig(file?: string): KubeConfigProvider {
  let kc: KubeConfig | undefined;
  // An executor that throws rejects its promise: a missing kubeconfig fails the sync, not the caller.
  return () =>
    new Promise((resolve) => {
      kc ??= loadKubeConfig(file);
      resolve(kc);
    });
}
