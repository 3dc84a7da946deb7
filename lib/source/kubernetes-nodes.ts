// kubernetes-nodes[:<label selector>]: the global IPv6 addresses nodes report. Nodes get SLAAC
// addresses from the delegated prefix, so this works in-cluster and from Lambda through the API.
import { CoreV1Api } from '@kubernetes/client-node';
import { describeApiError } from '../cluster/api-error.js';
import { notGlobalUnicast, parseIPv6 } from '../prefix/ipv6.js';
import { agreeingAnswer } from './agreement.js';
import { SourceError, type PrefixSource } from './source.js';

export function kubernetesNodesSource(
  labelSelector: string | undefined,
  delegatedLength: number,
): PrefixSource {
  const name = `kubernetes-nodes${labelSelector === undefined ? '' : `:${labelSelector}`}`;
  return {
    name,
    async detect({ kubeConfig }) {
      if (kubeConfig === undefined) throw new SourceError(name, 'no cluster connection');
      let nodes;
      try {
        nodes = await kubeConfig
          .makeApiClient(CoreV1Api)
          .listNode(labelSelector === undefined ? {} : { labelSelector });
      } catch (error) {
        throw new SourceError(name, describeApiError('listing nodes', error).message);
      }
      if (nodes.items.length === 0)
        throw new SourceError(
          name,
          `no nodes${labelSelector === undefined ? '' : ` match ${labelSelector}`}`,
        );
      const global = nodes.items
        .flatMap((n) => n.status?.addresses ?? [])
        .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
        .map((a) => a.address)
        .filter((a) => {
          const parsed = parseIPv6(a);
          return parsed !== undefined && notGlobalUnicast(parsed) === undefined;
        })
        .sort();
      if (global.length === 0) throw new SourceError(name, 'no node reports a global IPv6 address');
      const answer = agreeingAnswer(name, global, delegatedLength);
      return {
        ...answer,
        raw: `${answer.raw} (${String(global.length)} addresses on ${String(nodes.items.length)} nodes)`,
      };
    },
  };
}
