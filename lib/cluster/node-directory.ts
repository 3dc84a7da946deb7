// The cluster's Nodes as the kubernetes-nodes source sees them: their addresses, through the
// run's pooled, counted API clients.
import { CoreV1Api } from '@kubernetes/client-node';
import type { ApiClients } from './api-clients.js';
import { describeApiError } from './api-error.js';
import type { ApiRequests } from './api-requests.js';
import type { NodeAddresses, NodeDirectory } from '../cluster/ports.js';

export class KubeNodeDirectory implements NodeDirectory {
  constructor(
    private readonly clients: ApiClients,
    private readonly counter: ApiRequests,
  ) {}

  async addresses(labelSelector?: string): Promise<NodeAddresses> {
    try {
      const list = await this.counter.track(() =>
        this.clients.get(CoreV1Api).listNode(labelSelector === undefined ? {} : { labelSelector }),
      );
      return {
        nodes: list.items.length,
        addresses: list.items.flatMap((n) => n.status?.addresses ?? []),
      };
    } catch (error) {
      throw describeApiError('listing nodes', error);
    }
  }
}
