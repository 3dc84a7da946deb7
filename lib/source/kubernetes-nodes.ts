// kubernetes-nodes[:<label selector>]: the global IPv6 addresses nodes report. Nodes get SLAAC
// addresses from the delegated prefix, so this works in-cluster and from Lambda through the API.
import { notGlobalUnicast, parseIPv6 } from '../prefix/ipv6.js';
import { parseAnswer } from './answer.js';
import { agreeingAnswer } from './agreement.js';
import { groupByPrefix } from './prefix-groups.js';
import { SourceError, type PrefixSource } from './source.js';
import { errorText } from '../errors/error-text.js';

export function kubernetesNodesSource(
  labelSelector: string | undefined,
  delegatedLength: number,
): PrefixSource {
  const name = `kubernetes-nodes${labelSelector === undefined ? '' : `:${labelSelector}`}`;
  return {
    name,
    async detect({ nodes: directory }) {
      if (directory === undefined) throw new SourceError(name, 'no cluster connection');
      let nodes;
      try {
        nodes = await directory.addresses(labelSelector);
      } catch (error) {
        throw new SourceError(name, errorText(error));
      }
      if (nodes.nodes === 0)
        throw new SourceError(
          name,
          `no nodes${labelSelector === undefined ? '' : ` match ${labelSelector}`}`,
        );
      const global = nodes.addresses
        .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
        .map((a) => a.address)
        .filter((a) => {
          const parsed = parseIPv6(a);
          return parsed !== undefined && notGlobalUnicast(parsed) === undefined;
        })
        .sort();
      // During a renumbering kubelets report both prefixes: one answer per prefix, lowest first,
      // and the sync decides with the pool's prefix history.
      const groups = groupByPrefix(global, (a) => parseAnswer(name, a).address, delegatedLength);
      const count = `${String(global.length)} addresses on ${String(nodes.nodes)} nodes`;
      const note = groups.length > 1 ? `; prefixes in use: ${groups.map((g) => g.prefix).join(', ')}` : '';
      const [first, ...others] = groups.map((g) => agreeingAnswer(name, g.members, delegatedLength));
      if (first === undefined) throw new SourceError(name, 'no node reports a global IPv6 address');
      return {
        ...first,
        raw: `${first.raw} (${count}${note})`,
        ...(others.length === 0 ? {} : { alternatives: others }),
      };
    },
  };
}
