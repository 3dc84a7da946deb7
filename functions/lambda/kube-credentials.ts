// How the Lambda reaches the cluster: an EKS cluster by name (DescribeCluster + IAM token), or
// stored credentials (a kubeconfig in an environment variable or a file).
import { KubeConfig } from '@kubernetes/client-node';
import { defaultKubeConfig, type KubeConfigProvider } from '../shared/kube-config-provider.js';
import { eksToken, type EksToken } from './eks-token.js';
import { errorText } from '../../lib/errors/error-text.js';
import { kubeconfigProblem } from '../../lib/cluster/kube-config.js';

export const EKS_CLUSTER_ENV = 'METALLB_DYN6_EKS_CLUSTER';
export const KUBECONFIG_DATA_ENV = 'METALLB_DYN6_KUBECONFIG_DATA';

function eksProvider(clusterName: string, region: string, now: () => number): KubeConfigProvider {
  // Loaded on first use: stored-credential deployments never pay for the AWS SDK.
  const sdk = import('@aws-sdk/client-eks');
  let eks: import('@aws-sdk/client-eks').EKSClient | undefined;
  let cluster: { server: string; caData: string } | undefined;
  let current: { kc: KubeConfig; token: EksToken } | undefined;
  return async () => {
    if (current !== undefined && now() < current.token.renewAt) return current.kc;
    const { DescribeClusterCommand, EKSClient } = await sdk;
    eks ??= new EKSClient({ region });
    if (cluster === undefined) {
      const described = await eks
        .send(new DescribeClusterCommand({ name: clusterName }))
        .catch((error: unknown) => {
          throw new Error(`EKS DescribeCluster ${clusterName} in ${region} failed: ${errorText(error)}`, {
            cause: error,
          });
        });
      const server = described.cluster?.endpoint;
      const caData = described.cluster?.certificateAuthority?.data;
      if (server === undefined || caData === undefined)
        throw new Error(`EKS cluster ${clusterName} has no endpoint or certificate authority yet`);
      cluster = { server, caData };
    }
    const token = await eksToken(clusterName, region, await eks.config.credentials(), new Date(now()));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: clusterName, server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: 'lambda', token: token.token }],
      contexts: [{ name: clusterName, cluster: clusterName, user: 'lambda' }],
      currentContext: clusterName,
    });
    current = { kc, token };
    return kc;
  };
}

/** A kubeconfig as YAML, or base64 of it (easier to keep in one environment variable). */
function inlineProvider(data: string): KubeConfigProvider {
  const kc = new KubeConfig();
  const text = /^\s*(apiVersion|kind|clusters|current-context):/m.test(data)
    ? data
    : Buffer.from(data, 'base64').toString('utf8');
  kc.loadFromString(text);
  return () => Promise.resolve(kc);
}

/** `now` is the clock tokens are signed and renewed by. */
export function kubeConfigProvider(env: NodeJS.ProcessEnv, now: () => number = Date.now): KubeConfigProvider {
  const cluster = env[EKS_CLUSTER_ENV];
  if (cluster !== undefined && cluster !== '') {
    const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
    if (region === undefined) return () => Promise.reject(new Error(`${EKS_CLUSTER_ENV} needs AWS_REGION`));
    return eksProvider(cluster, region, now);
  }
  const data = env[KUBECONFIG_DATA_ENV];
  if (data !== undefined && data !== '') {
    try {
      return inlineProvider(data);
    } catch (error) {
      return () =>
        Promise.reject(
          new Error(`${KUBECONFIG_DATA_ENV} is not a readable kubeconfig: ${kubeconfigProblem(error)}`),
        );
    }
  }
  return defaultKubeConfig();
}
