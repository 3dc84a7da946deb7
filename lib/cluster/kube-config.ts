import { KubeConfig } from '@kubernetes/client-node';
import { errorText } from '../errors/error-text.js';

/**
 * Credentials: an explicit kubeconfig file, else client-node's default order ($KUBECONFIG,
 * ~/.kube/config, then the in-cluster service account).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path === undefined) kc.loadFromDefault();
  else {
    try {
      kc.loadFromFile(path);
    } catch (error) {
      throw new Error(`cannot read kubeconfig ${path}: ${errorText(error)}`, { cause: error });
    }
  }
  if (kc.getCurrentCluster() === null) {
    throw new Error(
      path === undefined
        ? 'no Kubernetes cluster configured: not in a cluster, and no $KUBECONFIG or ~/.kube/config (or pass --kubeconfig)'
        : `kubeconfig ${path} has no current cluster`,
    );
  }
  return kc;
}
