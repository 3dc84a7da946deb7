import { KubeConfig } from '@kubernetes/client-node';
import { errorText } from '../errors/error-text.js';

/**
 * Credentials: an explicit kubeconfig file, else client-node's default order ($KUBECONFIG,
 * ~/.kube/config, then the in-cluster service account).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path === undefined) {
    try {
      kc.loadFromDefault();
    } catch (error) {
      // eslint-disable-next-line preserve-caught-error -- the parser's error quotes the file: tokens too
      throw new Error(`cannot read the kubeconfig: ${kubeconfigProblem(error)}`);
    }
  } else {
    try {
      kc.loadFromFile(path);
    } catch (error) {
      // eslint-disable-next-line preserve-caught-error -- the parser's error quotes the file: tokens too
      throw new Error(`cannot read kubeconfig ${path}: ${kubeconfigProblem(error)}`);
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

/**
 * What is wrong with a kubeconfig, without quoting it: the YAML parser's message goes on with an
 * excerpt of the lines around the error, and those lines hold tokens and keys. Only its first line
 * (what and where: "bad indentation of a mapping entry (7:4)") is kept.
 */
export function kubeconfigProblem(error: unknown): string {
  return errorText(error).split('\n')[0] ?? '';
}
