// The ValidatingAdmissionPolicy of deploy/components/keep-host-parts on the real apiserver. The
// component's ClusterRole lets the function's identity patch every field of every Service; each
// refusal below is a change RBAC lets through and only the policy stops. Everyone else is unaffected,
// and a real sync that keeps host parts passes it. The policy is applied for a test namespace's
// account (the shipped one is metallb-system's, which other suites' RBAC checks hold to "no").
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  DEPRECATED_PIN_ANNOTATION,
  PIN_ANNOTATION,
  PINNED_BY_US_ANNOTATION,
} from '../../lib/plan/host-parts.js';
import { REPO_ROOT, testKubernetesVersion } from '../../devcluster/binaries.js';
import { kubeConfigFor } from '../../devcluster/kubeconfig.js';
import { createLoadBalancer } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig, sharedCluster } from '../../devcluster/shared-cluster.js';
import { runCli } from '../../devcluster/cli.js';
import { describeIf, type Condition } from '../support/declared-skips.js';
import { exclusiveDuringSuite, LOAD_BALANCER_SERVICES } from '../support/exclusive.js';
import { kubectl } from '../support/kubectl.js';
import { homeCluster, range, type HomeCluster } from '../../devcluster/home-cluster.js';

const SHIPPED_NAME = 'metallb-dyn6-service-pinner';
const SHIPPED_USER = 'system:serviceaccount:metallb-system:metallb-dyn6';
const OLD = '2a02:8071:1234:e000';
const NEW = '2a02:8071:1234:e0cd';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const admin = () => ({ kubeconfig: sharedCluster().adminKubeconfig });

/** How a kustomization of a user's own that lists the component renders (optionally with patches). */
function renderComponent(dirName: string, extra: string[] = []): KubernetesObject[] {
  const dir = path.join(REPO_ROOT, '.run', dirName);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'components: [../../deploy/components/keep-host-parts]',
      ...extra,
      '',
    ].join('\n'),
  );
  return parseAllDocuments(kubectl(['kustomize', dir]))
    .map((d) => d.toJSON() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
}
const kindsAndNames = (objects: KubernetesObject[]) =>
  objects.map((d) => `${d.kind ?? ''}/${d.metadata?.name ?? ''}`);
const asInput = (objects: KubernetesObject[]) => objects.map((d) => JSON.stringify(d)).join('\n');

// What the README tells people on a cluster older than 1.30 to add to their kustomization.
const WITHOUT_POLICY = [
  'patches:',
  ...['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].flatMap((kind) => [
    '  - patch: |-',
    '      $patch: delete',
    '      apiVersion: admissionregistration.k8s.io/v1',
    `      kind: ${kind}`,
    `      metadata: {name: ${SHIPPED_NAME}}`,
  ]),
];

describe('the keep-host-parts component on a cluster without the policy API (Kubernetes < 1.30)', () => {
  it("leaves the policy out with the README's two patches, and the apiserver takes the rest", () => {
    const full = renderComponent('keep-host-parts-component');
    expect(kindsAndNames(full)).toEqual([
      `ClusterRole/${SHIPPED_NAME}`,
      `ClusterRoleBinding/${SHIPPED_NAME}`,
      `ValidatingAdmissionPolicy/${SHIPPED_NAME}`,
      `ValidatingAdmissionPolicyBinding/${SHIPPED_NAME}`,
    ]);
    const without = renderComponent('keep-host-parts-without-policy', WITHOUT_POLICY);
    expect(kindsAndNames(without)).toEqual([
      `ClusterRole/${SHIPPED_NAME}`,
      `ClusterRoleBinding/${SHIPPED_NAME}`,
    ]);
    // A dry run: applying the grant to metallb-system's account for real would break other suites'
    // checks that it has none.
    const dryRun = (objects: KubernetesObject[]) =>
      kubectl(['apply', '--dry-run=server', '-f', '-'], { ...admin(), input: asInput(objects) });
    expect(dryRun(without)).toMatch(
      /clusterrolebinding\.rbac\.authorization\.k8s\.io\/\S+ created \(server dry run\)/,
    );
    if (testKubernetesVersion() === '1.20')
      expect(() => dryRun(full)).toThrow(/no matches for kind "ValidatingAdmissionPolicy"/);
    else
      expect(dryRun(full)).toMatch(
        /validatingadmissionpolicy\.admissionregistration\.k8s\.io\/\S+ created \(server dry run\)/,
      );
  });
});

const policyApi: Condition =
  testKubernetesVersion() === '1.20'
    ? { unavailable: 'Kubernetes 1.20 serves no admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy' }
    : true;

interface Outcome {
  code: number;
  message: string;
}
/** 200, or the code and the Status message the apiserver refused the call with. */
async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return { code: 200, message: '' };
  } catch (error) {
    const { code, body } = error as { code?: number; body?: unknown };
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // Not a Status: the body as it came.
    }
    return { code: code ?? 0, message };
  }
}

describeIf(policyApi, 'plane-without-api', 'the policy of the keep-host-parts component', () => {
  let home: HomeCluster;
  let applied = '';
  let name = '';
  let asFunction: CoreV1Api;
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  const patchAs = (api: CoreV1Api, service: string, body: object, dryRun = false) =>
    outcome(
      api.patchNamespacedService(
        { namespace: home.namespace, name: service, body, ...(dryRun ? { dryRun: 'All' } : {}) },
        mergePatch,
      ),
    );
  const read = (service: string) => core.readNamespacedService({ namespace: home.namespace, name: service });
  const refusal = (rule: string) =>
    new RegExp(`ValidatingAdmissionPolicy '${name}' with binding '${name}' denied request: .*${rule}`);

  // Declared before the lock so that it runs before the lock is let go: the next suite to hold it
  // must not find this suite's LoadBalancer Services.
  afterAll(() => {
    if (applied !== '') kubectl(['delete', '--ignore-not-found', '-f', '-'], { ...admin(), input: applied });
    if (name !== '') kubectl(['delete', 'services', '--all', '-n', home.namespace], admin());
  });
  exclusiveDuringSuite(LOAD_BALANCER_SERVICES);

  beforeAll(async () => {
    home = await homeCluster('policy', { addresses: ['192.168.178.240/28', range(OLD)] });
    name = `${SHIPPED_NAME}-${home.namespace}`;
    asFunction = kubeConfigFor(sharedCluster(), 'sa', home.token).makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: home.namespace,
      body: {
        metadata: { name: 'web', labels: { app: 'web' }, annotations: { 'team/owner': 'home-lab' } },
        spec: {
          type: 'LoadBalancer',
          ipFamilyPolicy: 'SingleStack',
          ipFamilies: ['IPv6'],
          selector: { app: 'web' },
          ports: [{ port: 80, protocol: 'TCP' }],
        },
      },
    });
    await core.createNamespacedService({
      namespace: home.namespace,
      body: {
        metadata: { name: 'internal' },
        spec: { selector: { app: 'internal' }, ports: [{ port: 80 }] },
      },
    });

    // The component as shipped, aimed at the test's account instead of metallb-system's.
    const shipped = asInput(renderComponent('keep-host-parts-component'));
    expect(shipped.split(SHIPPED_USER)).toHaveLength(2);
    applied = shipped
      .replaceAll(SHIPPED_USER, home.username)
      .replaceAll('"namespace":"metallb-system"', `"namespace":"${home.namespace}"`)
      .replaceAll(SHIPPED_NAME, name);
    kubectl(['apply', '-f', '-'], { ...admin(), input: applied });

    // The authorizer learns of the binding, and admission of the policy, from informers: a change
    // only the policy refuses (tried as a dry run, so nothing sticks before then) shows both are in force.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const probe = await patchAs(asFunction, 'web', { metadata: { labels: { probe: 'policy' } } }, true);
      if (probe.code === 422 && refusal('no metadata').test(probe.message)) break;
      if (Date.now() > deadline)
        throw new Error(
          `the policy was not in force after 60 s: a label change answered ${JSON.stringify(probe)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 180_000);

  it('holds the identity the ClusterRoleBinding grants, and no one else', () => {
    const objects = renderComponent('keep-host-parts-component');
    const binding = objects.find((d) => d.kind === 'ClusterRoleBinding') as unknown as {
      subjects: unknown[];
    };
    const policy = objects.find((d) => d.kind === 'ValidatingAdmissionPolicy') as unknown as {
      spec: { matchConditions: { expression: string }[] };
    };
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'metallb-dyn6', namespace: 'metallb-system' },
    ]);
    expect(policy.spec.matchConditions.map((c) => c.expression)).toEqual([
      `request.userInfo.username == '${SHIPPED_USER}'`,
    ]);
  });

  const SPEC = "spec\\.loadBalancerIP only, no other field of a Service's spec";
  const METADATA = 'no metadata of a Service but its pin annotations';
  const ANNOTATIONS = 'only the pin annotations of a Service \\(metallb\\.io/loadBalancerIPs';
  it.each([
    ['changing spec.externalIPs', { spec: { externalIPs: ['2001:db8::10'] } }, SPEC],
    ['changing spec.selector', { spec: { selector: { app: 'elsewhere' } } }, SPEC],
    ['changing spec.ports', { spec: { ports: [{ port: 8080, protocol: 'TCP' }] } }, SPEC],
    [
      'changing a pin together with spec.selector',
      {
        metadata: { annotations: { [PIN_ANNOTATION]: `${NEW}::1005` } },
        spec: { selector: { app: 'elsewhere' } },
      },
      SPEC,
    ],
    ['adding a label', { metadata: { labels: { tier: 'edge' } } }, METADATA],
    ['adding a finalizer', { metadata: { finalizers: ['example.com/hold'] } }, METADATA],
    ['changing another annotation', { metadata: { annotations: { 'team/owner': 'mallory' } } }, ANNOTATIONS],
    ['removing another annotation', { metadata: { annotations: { 'team/owner': null } } }, ANNOTATIONS],
  ])(
    'refuses the function %s on a LoadBalancer Service (422, naming the policy)',
    async (_what, body, rule) => {
      const before = await read('web');
      const refused = await patchAs(asFunction, 'web', body);
      expect(refused.code).toBe(422);
      expect(refused.message).toMatch(refusal(rule));
      expect((await read('web')).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    },
  );

  it.each([
    [PIN_ANNOTATION, { metadata: { annotations: { [PIN_ANNOTATION]: `${NEW}::1005` } } }],
    [
      DEPRECATED_PIN_ANNOTATION,
      { metadata: { annotations: { [DEPRECATED_PIN_ANNOTATION]: `${NEW}::1005` } } },
    ],
    [PINNED_BY_US_ANNOTATION, { metadata: { annotations: { [PINNED_BY_US_ANNOTATION]: `${NEW}::1005` } } }],
    ['spec.loadBalancerIP', { spec: { loadBalancerIP: `${NEW}::1005` } }],
  ])('lets the function change %s on a LoadBalancer Service', async (_what, body) => {
    const allowed = await patchAs(asFunction, 'web', body);
    expect(allowed).toEqual({ code: 200, message: '' });
    expect(await read('web')).toMatchObject(body);
  });

  it('lets the function take its pins back in one patch at the resourceVersion it planned from', async () => {
    const before = await read('web');
    const allowed = await patchAs(asFunction, 'web', {
      metadata: {
        resourceVersion: before.metadata?.resourceVersion,
        annotations: {
          [PIN_ANNOTATION]: null,
          [DEPRECATED_PIN_ANNOTATION]: null,
          [PINNED_BY_US_ANNOTATION]: null,
        },
      },
      spec: { loadBalancerIP: null },
    });
    expect(allowed).toEqual({ code: 200, message: '' });
    const after = await read('web');
    expect(after.metadata?.annotations).toEqual({ 'team/owner': 'home-lab' });
    expect(after.spec?.loadBalancerIP).toBeUndefined();
  });

  it('refuses the function a pin on a Service that is not a LoadBalancer', async () => {
    const refused = await patchAs(asFunction, 'internal', {
      metadata: { annotations: { [PIN_ANNOTATION]: `${NEW}::1005` } },
    });
    expect(refused.code).toBe(422);
    expect(refused.message).toMatch(refusal('LoadBalancer Services only'));
    expect((await read('internal')).metadata?.annotations ?? {}).toEqual({});
  });

  it('leaves everyone else alone: an admin still changes spec.ports', async () => {
    const allowed = await outcome(
      core.patchNamespacedService(
        {
          namespace: home.namespace,
          name: 'web',
          body: { spec: { ports: [{ port: 8080, protocol: 'TCP' }] } },
        },
        mergePatch,
      ),
    );
    expect(allowed).toEqual({ code: 200, message: '' });
    expect((await read('web')).spec?.ports?.map((p) => p.port)).toEqual([8080]);
  });

  it('lets a real sync that keeps host parts re-pin a Service', async () => {
    await createLoadBalancer(adminKubeConfig(), home.namespace, 'moved', {
      annotations: { 'team/owner': 'home-lab' },
    });
    await core.patchNamespacedServiceStatus(
      {
        namespace: home.namespace,
        name: 'moved',
        body: { status: { loadBalancer: { ingress: [{ ip: `${OLD}::1005` }] } } },
      },
      mergePatch,
    );
    const moved = await read('moved');
    const run = await runCli(
      ['sync'],
      home.env({ METALLB_DYN6_KEEP_HOST_PARTS: 'all', METALLB_DYN6_SOURCE: `static:${NEW}::9` }),
    );
    expect(run.result).toMatchObject({
      status: 'updated',
      services: {
        changed: [
          {
            service: `${home.namespace}/moved`,
            kind: 'pin',
            moved: [{ from: `${OLD}::1005`, to: `${NEW}::1005` }],
          },
        ],
      },
    });
    const after = await read('moved');
    expect(after.metadata?.annotations).toEqual({
      'team/owner': 'home-lab',
      [PIN_ANNOTATION]: `${NEW}::1005`,
      [PINNED_BY_US_ANNOTATION]: `${NEW}::1005`,
    });
    expect(after.spec).toEqual(moved.spec);
  });
});
