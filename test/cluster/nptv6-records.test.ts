// NPTv6 mode with --nptv6-records dnsendpoint on the real apiserver: one DNSEndpoint of ours per
// published Service, found again by its label, updated at its resourceVersion when the ISP's prefix
// moves, deleted when the Service is no longer published; the Services are only read, and a
// DNSEndpoint that is not ours is left alone. external-dns cannot be built here: its CRD is stood in
// for by the fields of its documented contract (dnsName, recordType, targets).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { runCli } from '../../devcluster/cli.js';
import { createLoadBalancer, established } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig, createTestNamespace, sharedCluster } from '../../devcluster/shared-cluster.js';
import { PUBLISH_ANNOTATION } from '../../lib/plan/host-parts.js';
import { exclusiveDuringSuite, LOAD_BALANCER_SERVICES } from '../support/exclusive.js';

const CRD = 'dnsendpoints.externaldns.k8s.io';
const RECORDS = { group: 'externaldns.k8s.io', version: 'v1alpha1', plural: 'dnsendpoints' } as const;
const HOSTNAME = 'external-dns.alpha.kubernetes.io/hostname';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const string = { type: 'string' };

describe('NPTv6 mode writing DNSEndpoints', () => {
  const admin = adminKubeConfig();
  const extensions = admin.makeApiClient(ApiextensionsV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const core = admin.makeApiClient(CoreV1Api);
  let namespace = '';

  // Declared before the lock, so that it runs before the lock is let go: the next suite to hold it
  // must not find this suite's LoadBalancer Service (a real MetalLB controller would number it).
  afterAll(async () => {
    await extensions.deleteCustomResourceDefinition({ name: CRD });
    if (namespace !== '') await core.deleteNamespacedService({ namespace, name: 'web' });
  });
  exclusiveDuringSuite(LOAD_BALANCER_SERVICES);

  beforeAll(async () => {
    await extensions.createCustomResourceDefinition({
      body: {
        // A *.k8s.io group needs the approval annotation; external-dns's CRD carries this one.
        metadata: {
          name: CRD,
          annotations: {
            'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/external-dns/pull/2007',
          },
        },
        spec: {
          group: RECORDS.group,
          scope: 'Namespaced',
          names: {
            kind: 'DNSEndpoint',
            listKind: 'DNSEndpointList',
            plural: 'dnsendpoints',
            singular: 'dnsendpoint',
          },
          versions: [
            {
              name: 'v1alpha1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      properties: {
                        endpoints: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['dnsName', 'recordType'],
                            properties: {
                              dnsName: string,
                              recordType: { type: 'string', enum: ['A', 'AAAA', 'CNAME', 'TXT'] },
                              targets: { type: 'array', items: string },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await established(extensions, CRD);
    namespace = await createTestNamespace('nptv6-records');
    await createLoadBalancer(admin, namespace, 'web', {
      annotations: { [PUBLISH_ANNOTATION]: 'true', [HOSTNAME]: 'web.example.net' },
    });
    await core.patchNamespacedServiceStatus(
      {
        namespace,
        name: 'web',
        body: {
          status: {
            loadBalancer: { ingress: [{ ip: '192.168.178.241' }, { ip: 'fd00:1234:5678:e1cd::1005' }] },
          },
        },
      },
      mergePatch,
    );
  });

  const sync = (prefix: string) =>
    runCli(['sync'], {
      KUBECONFIG: sharedCluster().adminKubeconfig,
      METALLB_DYN6_NPTV6: 'netmap',
      METALLB_DYN6_NPTV6_INSIDE: 'fd00:1234:5678:e100::/56',
      METALLB_DYN6_NPTV6_PUBLISH: 'annotated',
      METALLB_DYN6_NPTV6_RECORDS: 'dnsendpoint',
      METALLB_DYN6_DELEGATED_PREFIX_LENGTH: '56',
      METALLB_DYN6_SOURCE: `static:${prefix}12::9`,
    });
  const records = async () =>
    (await custom.getNamespacedCustomObject({ ...RECORDS, namespace, name: 'metallb-dyn6-web' })) as {
      metadata: { labels: Record<string, string> };
      spec: { endpoints: unknown[] };
    };

  it('creates the records, follows the ISP, and never writes the Service', async () => {
    const before = await core.readNamespacedService({ namespace, name: 'web' });
    const first = await sync('2a02:8071:1234:56');
    expect(first.result).toMatchObject({ status: 'updated' });
    expect((await records()).spec.endpoints).toEqual([
      { dnsName: 'web.example.net', recordType: 'AAAA', targets: ['2a02:8071:1234:56cd::1005'] },
      { dnsName: 'web.example.net', recordType: 'A', targets: ['192.168.178.241'] },
    ]);
    expect((await records()).metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'metallb-dyn6',
      'metallb-dyn6/service': 'web',
    });
    expect((await sync('2a02:8071:1234:56')).result).toMatchObject({ status: 'unchanged' });
    const moved = await sync('2a02:8071:4321:ab');
    expect(moved.result?.published?.changed).toEqual([
      {
        service: `${namespace}/web`,
        targets: ['2a02:8071:4321:abcd::1005', '192.168.178.241'],
        was: '2a02:8071:1234:56cd::1005,192.168.178.241',
      },
    ]);
    const after = await core.readNamespacedService({ namespace, name: 'web' });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('deletes ours when the Service is no longer published, and leaves a DNSEndpoint that is not ours', async () => {
    await core.patchNamespacedService(
      { namespace, name: 'web', body: { metadata: { annotations: { [PUBLISH_ANNOTATION]: null } } } },
      mergePatch,
    );
    expect((await sync('2a02:8071:4321:ab')).result).toMatchObject({ status: 'updated' });
    await expect(records()).rejects.toMatchObject({ code: 404 });
    // A person's object under the name ours would take: reported, untouched.
    const theirs = { dnsName: 'web.example.net', recordType: 'A', targets: ['203.0.113.7'] };
    await custom.createNamespacedCustomObject({
      ...RECORDS,
      namespace,
      body: {
        apiVersion: 'externaldns.k8s.io/v1alpha1',
        kind: 'DNSEndpoint',
        metadata: { name: 'metallb-dyn6-web' },
        spec: { endpoints: [theirs] },
      },
    });
    await core.patchNamespacedService(
      { namespace, name: 'web', body: { metadata: { annotations: { [PUBLISH_ANNOTATION]: 'true' } } } },
      mergePatch,
    );
    const run = await sync('2a02:8071:4321:ab');
    expect(run.code).not.toBe(0);
    expect(run.result?.error).toMatch(/creating DNSEndpoint .*metallb-dyn6-web: it exists already/);
    expect((await records()).spec.endpoints).toEqual([theirs]);
  });
});
