import { KubeConfig } from '@kubernetes/client-node';

export interface ClusterAccess {
  server: string;
  caPem: string;
}

/** A kubeconfig document for one bearer-token user of the test cluster. */
export function kubeconfigYaml(access: ClusterAccess, user: string, token: string): string {
  const ca = Buffer.from(access.caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${access.server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    `    user: ${user}`,
    'current-context: test',
    '',
  ].join('\n');
}

export function kubeConfigFor(access: ClusterAccess, user: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(access, user, token));
  return kc;
}
