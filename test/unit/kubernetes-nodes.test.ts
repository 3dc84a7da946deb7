// The kubernetes-nodes source over an in-memory node directory: which addresses count, and every
// way it refuses. test/cluster/source/kubernetes-nodes.test.ts runs it against a real apiserver.
import { describe, expect, it } from '@jest/globals';
import { kubernetesNodesSource } from '../../lib/source/kubernetes-nodes.js';
import { sourceFailure } from '../support/source-error.js';
import type { NodeAddresses, NodeDirectory } from '../../lib/cluster/ports.js';

function directory(
  byLabel: Record<string, NodeAddresses>,
): NodeDirectory & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    addresses(labelSelector) {
      asked.push(labelSelector);
      const found = byLabel[labelSelector ?? ''];
      return found === undefined
        ? Promise.reject(new Error('listing nodes: forbidden (403)'))
        : Promise.resolve(found);
    },
  };
}
const ip = (type: string, address: string) => ({ type, address });

const reason = async (detection: Promise<unknown>) => (await sourceFailure(detection)).message;

describe('kubernetes-nodes source', () => {
  it('takes the lowest global IPv6 Internal/External address, ignoring every other kind', async () => {
    const nodes = directory({
      'role=worker': {
        nodes: 3,
        addresses: [
          ip('InternalIP', '192.168.1.10'),
          ip('InternalIP', '2a02:8071:1234:5678::20'),
          ip('Hostname', '2a02:8071:1234:5678::1'),
          ip('ExternalIP', '2a02:8071:1234:5678::10'),
          ip('InternalIP', 'fd00::1'),
          ip('InternalIP', 'fe80::1'),
          ip('InternalDNS', 'pi-1.lan'),
        ],
      },
    });
    const answer = await kubernetesNodesSource('role=worker', 64).detect({ nodes });
    expect(nodes.asked).toEqual(['role=worker']);
    expect(answer).toMatchObject({
      source: 'kubernetes-nodes:role=worker',
      raw: '2a02:8071:1234:5678::10 (2 addresses on 3 nodes)',
    });
    expect(answer.address.toString()).toBe('2a02:8071:1234:5678::10');
  });

  it('asks for every node without a selector', async () => {
    const nodes = directory({ '': { nodes: 1, addresses: [ip('InternalIP', '2a02:8071:1234:5678::1')] } });
    const source = kubernetesNodesSource(undefined, 64);
    expect(source.name).toBe('kubernetes-nodes');
    await source.detect({ nodes });
    expect(nodes.asked).toEqual([undefined]);
  });

  it('compares the nodes at the delegated length; two prefixes in use go to the sync as alternatives', async () => {
    const two = {
      nodes: 2,
      addresses: [ip('InternalIP', '2a02:8071:1234:5602::1'), ip('InternalIP', '2a02:8071:1234:5601::1')],
    };
    const one = await kubernetesNodesSource(undefined, 56).detect({ nodes: directory({ '': two }) });
    expect(one.alternatives).toBeUndefined();
    const renumbering = await kubernetesNodesSource(undefined, 64).detect({ nodes: directory({ '': two }) });
    expect(renumbering.raw).toBe(
      '2a02:8071:1234:5601::1 (2 addresses on 2 nodes; prefixes in use: 2a02:8071:1234:5601::/64, 2a02:8071:1234:5602::/64)',
    );
    expect(renumbering.alternatives?.map((a) => a.address.toString())).toEqual(['2a02:8071:1234:5602::1']);
  });

  it.each([
    [{ nodes: 0, addresses: [] }, 'role=x', 'source kubernetes-nodes:role=x: no nodes match role=x'],
    [{ nodes: 0, addresses: [] }, undefined, 'source kubernetes-nodes: no nodes'],
    [
      { nodes: 2, addresses: [ip('InternalIP', '10.0.0.1'), ip('InternalIP', 'fd00::1')] },
      undefined,
      'source kubernetes-nodes: no node reports a global IPv6 address',
    ],
  ])('refuses %j', async (answer, selector, message) => {
    const nodes = directory({ [selector ?? '']: answer });
    expect(await reason(kubernetesNodesSource(selector, 64).detect({ nodes }))).toBe(message);
  });

  it('names the API failure, and needs a cluster to ask', async () => {
    expect(await reason(kubernetesNodesSource('a=b', 64).detect({ nodes: directory({}) }))).toBe(
      'source kubernetes-nodes:a=b: listing nodes: forbidden (403)',
    );
    expect(await reason(kubernetesNodesSource(undefined, 64).detect({}))).toBe(
      'source kubernetes-nodes: no cluster connection',
    );
  });
});
