// NPTv6 mode on the real apiserver, acting as the identity deploy/components/nptv6 grants: the CLI
// publishes a Service's public address through the component's ClusterRole and past its
// ValidatingAdmissionPolicy, while the policy refuses that identity any other change to a Service.
// Applied for a test namespace's account (the shipped one is metallb-system's, which other suites'
// RBAC checks hold to "no"). Where the router's translation takes a client is test/network/nptv6.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { testKubernetesVersion } from '../../devcluster/binaries.js';
import { runCli } from '../../devcluster/cli.js';
import { kubeconfigYaml } from '../../devcluster/kubeconfig.js';
import { createLoadBalancer } from '../../devcluster/metallb-fixture.js';
import {
  adminKubeConfig,
  createTestNamespace,
  serviceAccountAccess,
  sharedCluster,
  sharedHandle,
} from '../../devcluster/shared-cluster.js';
import {
  PUBLISH_ANNOTATION,
  PUBLISHED_BY_US_ANNOTATION,
  TARGET_ANNOTATIONS,
} from '../../lib/plan/host-parts.js';
import { describeIf, type Condition } from '../support/declared-skips.js';
import { kubectl, renderWithComponents } from '../support/kubectl.js';
import { exclusiveDuringSuite, LOAD_BALANCER_SERVICES } from '../support/exclusive.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const SHIPPED_NAME = 'metallb-dyn6-publisher';
const SHIPPED_USER = 'system:serviceaccount:metallb-system:metallb-dyn6';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const admin = () => ({ kubeconfig: sharedCluster().adminKubeconfig });
const BACKEND = 'fd00:1234:5678:e0cd::1005';

const policyApi: Condition =
  testKubernetesVersion() === '1.20'
    ? { unavailable: 'Kubernetes 1.20 serves no admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy' }
    : true;

describeIf(policyApi, 'plane-without-api', 'NPTv6 mode as the identity of the nptv6 component', () => {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  let namespace = '';
  let name = '';
  let applied = '';
  let kubeconfig = '';
  let asFunction: CoreV1Api;

  /** A patch as the component's identity: its HTTP status (200 when let through) and message. */
  async function patchAs(body: object, dryRun = false): Promise<{ code: number; message: string }> {
    try {
      await asFunction.patchNamespacedService(
        { namespace, name: 'web', body, ...(dryRun ? { dryRun: 'All' } : {}) },
        mergePatch,
      );
      return { code: 200, message: '' };
    } catch (error) {
      const { code, body: text } = error as { code?: number; body?: string };
      return { code: code ?? 0, message: String(text) };
    }
  }

  // Declared before the lock, so that it runs before the lock is let go: the next suite to hold it
  // must not find this suite's LoadBalancer Service (a real MetalLB controller would number it).
  afterAll(async () => {
    if (applied !== '') kubectl(['delete', '--ignore-not-found', '-f', '-'], { ...admin(), input: applied });
    if (namespace !== '') await core.deleteNamespacedService({ namespace, name: 'web' });
  });
  exclusiveDuringSuite(LOAD_BALANCER_SERVICES);

  beforeAll(async () => {
    namespace = await createTestNamespace('nptv6');
    name = `${SHIPPED_NAME}-${namespace}`;
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'metallb-dyn6' } } });
    const rendered = parseAllDocuments(renderWithComponents('overlays/cronjob', ['components/nptv6']))
      .map((d) => d.toJSON() as KubernetesObject)
      .filter(
        (o) =>
          o.kind?.startsWith('ClusterRole') === true || o.kind?.startsWith('ValidatingAdmission') === true,
      );
    const shipped = rendered.map((o) => JSON.stringify(o)).join('\n');
    expect(shipped.split(SHIPPED_USER)).toHaveLength(2);
    applied = shipped
      .replaceAll(SHIPPED_USER, `system:serviceaccount:${namespace}:metallb-dyn6`)
      .replaceAll('"namespace":"metallb-system"', `"namespace":"${namespace}"`)
      .replaceAll(SHIPPED_NAME, name);
    kubectl(['apply', '-f', '-'], { ...admin(), input: applied });
    const sa = await serviceAccountAccess(namespace, 'metallb-dyn6', sharedHandle());
    asFunction = sa.kubeConfig.makeApiClient(CoreV1Api);
    kubeconfig = path.join(sharedCluster().runDir, `${namespace}.kubeconfig`);
    writeFileSync(kubeconfig, kubeconfigYaml(sharedCluster(), sa.username, sa.token), { mode: 0o600 });

    await createLoadBalancer(adminKubeConfig(), namespace, 'web', {
      annotations: { [PUBLISH_ANNOTATION]: 'true' },
    });
    await core.patchNamespacedServiceStatus(
      { namespace, name: 'web', body: { status: { loadBalancer: { ingress: [{ ip: BACKEND }] } } } },
      mergePatch,
    );
    // The binding and the policy reach the authorizer and admission through informers: wait until a
    // change only the policy refuses (a dry run) is refused by it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const probe = await patchAs({ metadata: { labels: { probe: 'policy' } } }, true);
      if (probe.code === 422 && probe.message.includes(name)) break;
      if (Date.now() > deadline)
        throw new Error(`the policy was not in force after 60 s: ${JSON.stringify(probe)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 180_000);

  it('publishes the public address through the grant and the policy', async () => {
    const run = await runCli(['sync', '--output', 'text'], {
      KUBECONFIG: kubeconfig,
      METALLB_DYN6_NPTV6: 'netmap',
      METALLB_DYN6_NPTV6_INSIDE: 'fd00:1234:5678:e000::/56',
      METALLB_DYN6_NPTV6_PUBLISH: 'annotated',
      METALLB_DYN6_DELEGATED_PREFIX_LENGTH: '56',
      METALLB_DYN6_SOURCE: 'static:2a02:8071:1234:5612::9',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`published: ${namespace}/web 2a02:8071:1234:56cd::1005`);
    const annotations =
      (await core.readNamespacedService({ namespace, name: 'web' })).metadata?.annotations ?? {};
    for (const a of [...TARGET_ANNOTATIONS, PUBLISHED_BY_US_ANNOTATION])
      expect(annotations[a]).toBe('2a02:8071:1234:56cd::1005');
    const events = (await core.listNamespacedEvent({ namespace })).items;
    expect(events.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.reason])).toContainEqual([
      'Service',
      'web',
      'PublishedAddressChanged',
    ]);
  });

  it.each([
    ['its spec', { spec: { selector: { app: 'elsewhere' } } }, /changes nothing of their spec/],
    [
      'another annotation',
      { metadata: { annotations: { 'team/owner': 'me' } } },
      /may change only the annotations/,
    ],
    ['a label', { metadata: { labels: { app: 'other' } } }, /may change no label/],
  ])('refuses the identity any change to %s', async (_, body, message) => {
    const outcome = await patchAs(body);
    expect(outcome.code).toBe(422);
    expect(outcome.message).toMatch(message);
  });
});
