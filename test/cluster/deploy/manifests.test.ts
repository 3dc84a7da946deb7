import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ApiextensionsV1Api, CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { PingSource } from '@kubernetes-models/knative/sources.knative.dev/v1/PingSource';
import { REPO_ROOT, testKubernetesVersion } from '../../../devcluster/binaries.js';
import { established } from '../../../devcluster/metallb-fixture.js';
import { goModuleDir, goToBuild } from '../../../devcluster/metallb-runtime.js';
import { adminKubeConfig, sharedCluster } from '../../../devcluster/shared-cluster.js';
import { describeIf, type Condition, type SkipId } from '../../support/declared-skips.js';
import { canI, kubectl, render, renderWithComponents } from '../../support/kubectl.js';

const OVERLAYS = ['cronjob', 'knative', 'openfaas', 'eks'] as const;
// Knative Serving 1.18's module, whose CRDs carry its published schemas.
const KNATIVE_SERVING = 'v0.51.0';
// Kubernetes 1.20 serves CronJob only as batch/v1beta1; later versions take the batch/v1 one as it is.
const APPLIED_FOR_REAL = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  ...(testKubernetesVersion() === '1.20' ? [] : ['CronJob']),
]);

// Plain YAML parsing: client-node's loader would coerce a Knative Service into a core Service.
const objects = (overlay: string) =>
  parseAllDocuments(render(`overlays/${overlay}`))
    .map((d) => d.toJSON() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
const admin = () => ({ kubeconfig: sharedCluster().adminKubeconfig });

describe('deployment manifests', () => {
  beforeAll(async () => {
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    for (const name of ['metallb-system', 'openfaas-fn']) {
      await core.createNamespace({ body: { metadata: { name } } }).catch((e: unknown) => {
        if ((e as { code?: number }).code !== 409) throw e;
      });
    }
  });

  it.each(OVERLAYS)(
    'renders the %s overlay and the apiserver accepts every object it can serve',
    (overlay) => {
      const docs = objects(overlay);
      expect(docs.length).toBeGreaterThan(0);
      const real = docs.filter((d) => APPLIED_FOR_REAL.has(d.kind ?? ''));
      const yaml = (list: KubernetesObject[]) => list.map((d) => JSON.stringify(d)).join('\n');
      expect(kubectl(['apply', '-f', '-'], { ...admin(), input: yaml(real) })).toMatch(
        /(created|configured|unchanged)/,
      );
      for (const doc of docs.filter((d) => !APPLIED_FOR_REAL.has(d.kind ?? ''))) {
        switch (`${doc.apiVersion ?? ''}/${doc.kind ?? ''}`) {
          case 'batch/v1/CronJob': {
            // Current schema (kubernetes-models, Kubernetes 1.3x OpenAPI)...
            expect(() => {
              new CronJob(doc as unknown as ConstructorParameters<typeof CronJob>[0]).validate();
            }).not.toThrow();
            // ...and the 1.20 test apiserver's own validation of the same spec under batch/v1beta1
            // (a current apiserver applies the batch/v1 object itself, above).
            const v1beta1 = { ...doc, apiVersion: 'batch/v1beta1' };
            expect(
              kubectl(['apply', '--dry-run=server', '-f', '-'], {
                ...admin(),
                input: JSON.stringify(v1beta1),
              }),
            ).toMatch(/created \(server dry run\)/);
            break;
          }
          case 'serving.knative.dev/v1/Service':
            // No Knative CRDs in the test apiserver: Knative's published schema (@kubernetes-models/knative).
            expect(() => {
              new KnativeService(
                doc as unknown as ConstructorParameters<typeof KnativeService>[0],
              ).validate();
            }).not.toThrow();
            break;
          case 'sources.knative.dev/v1/PingSource':
            expect(() => {
              new PingSource(doc as unknown as ConstructorParameters<typeof PingSource>[0]).validate();
            }).not.toThrow();
            break;
          default:
            throw new Error(`no validation for ${doc.apiVersion ?? ''} ${doc.kind ?? ''} in ${overlay}`);
        }
      }
    },
  );

  it('keeps failed Jobs for failedJobsHistoryLimit: no TTL deletes them first', () => {
    const cron = objects('cronjob').find((d) => d.kind === 'CronJob') as unknown as {
      spec: { failedJobsHistoryLimit: number; jobTemplate: { spec: Record<string, unknown> } };
    };
    expect(cron.spec.failedJobsHistoryLimit).toBeGreaterThan(0);
    expect(cron.spec.jobTemplate.spec).not.toHaveProperty('ttlSecondsAfterFinished');
  });

  it('runs the CronJob non-root, read-only and never twice at once', () => {
    const cron = objects('cronjob').find((d) => d.kind === 'CronJob') as unknown as {
      spec: {
        concurrencyPolicy: string;
        jobTemplate: {
          spec: {
            template: {
              spec: Record<string, unknown> & {
                containers: Record<string, unknown>[];
                securityContext: Record<string, unknown>;
              };
            };
          };
        };
      };
    };
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    expect(pod['serviceAccountName']).toBe('metallb-dyn6');
    expect(pod.securityContext['runAsNonRoot']).toBe(true);
    expect(pod.containers[0]?.['securityContext']).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(pod.securityContext['runAsUser']).toBe(65532);
  });

  it('ticks the Knative service from a PingSource and mounts the token from a Secret', () => {
    const docs = objects('knative');
    const ping = docs.find((d) => d.kind === 'PingSource') as unknown as {
      spec: { sink: { ref: { name: string; kind: string } } };
    };
    const service = docs.find((d) => d.kind === 'Service') as unknown as {
      metadata: { name: string };
      spec: {
        template: {
          spec: { serviceAccountName: string; containers: { env: { name: string; value: string }[] }[] };
        };
      };
    };
    expect(ping.spec.sink.ref).toMatchObject({ kind: 'Service', name: service.metadata.name });
    expect(service.spec.template.spec.serviceAccountName).toBe('metallb-dyn6');
    expect(service.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'METALLB_DYN6_HTTP_TOKEN_FILE',
      value: '/var/run/secrets/metallb-dyn6/token',
    });
    const func = parseYaml(readFileSync(path.join(REPO_ROOT, 'functions/knative/func.yaml'), 'utf8')) as {
      name: string;
      runtime: string;
      created?: unknown;
      deploy: { serviceAccountName: string; namespace?: string };
    };
    expect(func.deploy.serviceAccountName).toBe('metallb-dyn6');
    // func's Initialized() is "created is set": without it func build/deploy stop with "not initialized".
    expect(func).toMatchObject({ name: 'metallb-dyn6', runtime: 'node' });
    expect(Number.isNaN(Date.parse(String(func.created)))).toBe(false);
    // deploy.namespace is what func records after a deploy (observed state), not a setting.
    expect(func.deploy).not.toHaveProperty('namespace');
  });

  // The stack files themselves are checked beside the template's request handling (test/cluster/functions/openfaas.test.ts).
  it("binds the OpenFaaS function's account, in openfaas-fn, to the Role", () => {
    const binding = objects('openfaas').find((d) => d.kind === 'RoleBinding') as unknown as {
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'metallb-dyn6', namespace: 'openfaas-fn' },
    ]);
  });

  // Knative Serving's own CRD (from its Go module, knative.dev/serving) installed in the test
  // apiserver: the apiserver validates our Service against Knative's schema, as a cluster with
  // Knative would. (Knative Eventing's module is not served here; the PingSource is checked against
  // the schema @kubernetes-models/knative generates from it, above.)
  const [serving, servingSkip]: [Condition, SkipId] =
    testKubernetesVersion() === '1.20'
      ? [
          {
            unavailable:
              "Kubernetes 1.20's apiserver refuses Knative Serving's current CRDs (string defaults)",
          },
          'plane-too-old',
        ]
      : [goToBuild("Knative Serving's CRDs", '1.26'), 'no-go-toolchain'];
  describeIf(serving, servingSkip, "Knative Serving's own schema", () => {
    const knativeService = () => objects('knative').find((d) => d.apiVersion === 'serving.knative.dev/v1');
    const dryRun = (doc: unknown) =>
      kubectl(['apply', '--dry-run=server', '-n', 'metallb-system', '-f', '-'], {
        ...admin(),
        input: JSON.stringify(doc),
      });

    beforeAll(async () => {
      const serving = goModuleDir('knative.dev/serving', KNATIVE_SERVING);
      kubectl(['apply', '-f', path.join(serving, 'config/core/300-resources/service.yaml')], admin());
      await established(adminKubeConfig().makeApiClient(ApiextensionsV1Api), 'services.serving.knative.dev');
    }, 300_000);

    it('accepts the Knative Service of the overlay', () => {
      expect(dryRun(knativeService())).toMatch(
        /service\.serving\.knative\.dev\/metallb-dyn6 created \(server dry run\)/,
      );
    });

    it('refuses a Service that breaks the schema (the check is real)', () => {
      const broken = structuredClone(knativeService()) as {
        spec: { template: { spec: Record<string, unknown> } };
      };
      broken.spec.template.spec['containerConcurrency'] = 'many';
      expect(() => dryRun(broken)).toThrow(/containerConcurrency/);
    });
  });

  describe('kubectl auth can-i: the Role grants exactly what a sync needs', () => {
    const identities = {
      'CronJob/Knative account': ['--as=system:serviceaccount:metallb-system:metallb-dyn6'],
      'OpenFaaS account': ['--as=system:serviceaccount:openfaas-fn:metallb-dyn6'],
      'Lambda via EKS access entry': [
        '--as=arn:aws:sts::111122223333:assumed-role/metallb-dyn6/lambda',
        '--as-group=metallb-dyn6',
      ],
    };
    const matrix: [string, string, string, boolean][] = [
      ['get', 'ipaddresspools.metallb.io/ipv6-pool', 'metallb-system', true],
      ['patch', 'ipaddresspools.metallb.io/ipv6-pool', 'metallb-system', true],
      ['list', 'pods', 'metallb-system', true],
      ['watch', 'pods', 'metallb-system', true],
      ['deletecollection', 'pods', 'metallb-system', true],
      ['create', 'events', 'metallb-system', true],
      ['delete', 'events', 'metallb-system', false],
      ['update', 'ipaddresspools.metallb.io/ipv6-pool', 'metallb-system', false],
      ['delete', 'ipaddresspools.metallb.io/ipv6-pool', 'metallb-system', false],
      ['get', 'ipaddresspools.metallb.io/other-pool', 'metallb-system', false],
      ['list', 'ipaddresspools.metallb.io', 'metallb-system', false],
      ['create', 'ipaddresspools.metallb.io', 'metallb-system', false],
      ['get', 'ipaddresspools.metallb.io/ipv6-pool', 'default', false],
      ['delete', 'pods', 'metallb-system', false],
      ['create', 'pods', 'metallb-system', false],
      ['list', 'pods', 'kube-system', false],
      ['get', 'secrets', 'metallb-system', false],
      ['get', 'deployments.apps', 'metallb-system', false],
      ['list', 'nodes', '', false],
      ['list', 'services', '', false],
      ['patch', 'services', 'default', false],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io', '', false],
    ];
    it.each(Object.entries(identities))('%s', (_who, as) => {
      // Cluster-scoped rows ask across all namespaces: asked in kubectl's default namespace, can-i
      // warns that the resource is not namespaced, and a warning is not an answer.
      const answers = matrix.map(([verb, resource, namespace]) =>
        canI(
          [verb, resource, ...(namespace === '' ? ['--all-namespaces'] : ['-n', namespace]), ...as],
          admin(),
        ),
      );
      expect(matrix.map(([v, r, n], i) => `${v} ${r} ${n}: ${String(answers[i])}`)).toEqual(
        matrix.map(([v, r, n, want]) => `${v} ${r} ${n}: ${String(want)}`),
      );
    });

    it('the keep-host-parts component adds exactly list, get and patch on Services in every namespace', () => {
      // Rendered the way a user adds it: the CronJob overlay with the component in `components:`.
      const rendered = renderWithComponents('overlays/cronjob', ['components/keep-host-parts']);
      const rbac = parseAllDocuments(rendered)
        .map((d) => d.toJSON() as KubernetesObject)
        .filter((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding');
      expect(rbac.map((d) => `${d.kind ?? ''}/${d.metadata?.name ?? ''}`)).toEqual([
        'ClusterRole/metallb-dyn6-service-pinner',
        'ClusterRoleBinding/metallb-dyn6-service-pinner',
      ]);
      kubectl(['apply', '-f', '-'], { ...admin(), input: rbac.map((d) => JSON.stringify(d)).join('\n') });
      const as = '--as=system:serviceaccount:metallb-system:metallb-dyn6';
      const rows: [string, string, string, boolean, ...string[]][] = [
        ['list', 'services', '', true],
        ['get', 'services', 'default', true],
        ['patch', 'services', 'apps', true],
        ['update', 'services', 'apps', false],
        ['create', 'services', 'apps', false],
        ['delete', 'services', 'apps', false],
        ['patch', 'services', 'apps', false, '--subresource=status'],
        ['get', 'secrets', 'apps', false],
        ['patch', 'endpoints', 'apps', false],
      ];
      try {
        const answers = rows.map(([verb, resource, namespace, , ...extra]) =>
          canI(
            [verb, resource, ...(namespace === '' ? ['--all-namespaces'] : ['-n', namespace]), as, ...extra],
            admin(),
          ),
        );
        const line = ([v, r, n, , ...extra]: (typeof rows)[number], answer: boolean) =>
          `${v} ${[r, ...extra].join(' ')} ${n}: ${String(answer)}`;
        expect(rows.map((row, i) => line(row, answers[i] ?? false))).toEqual(
          rows.map((row) => line(row, row[3])),
        );
      } finally {
        kubectl(['delete', '-f', '-'], { ...admin(), input: rbac.map((d) => JSON.stringify(d)).join('\n') });
      }
    });

    it('takes only a clean yes or no as an answer: a kubectl failure is an error, not a "no"', () => {
      // The controls: the same runner answers both ways (the admin may do anything, a user with no
      // bindings nothing).
      expect(canI(['get', 'pods', '-n', 'metallb-system'], admin())).toBe(true);
      expect(canI(['get', 'pods', '-n', 'metallb-system', '--as=nobody'], admin())).toBe(false);
      // A resource the server does not have: kubectl warns on stderr and exits 1 with "no".
      expect(() =>
        canI(['get', 'nosuchthings.metallb.io', '-n', 'metallb-system', '--as=nobody'], admin()),
      ).toThrow(/answered neither yes nor no: .*stderr ".*nosuchthings/);
      // A server that is not there: kubectl exits 1 with nothing on stdout.
      const unreachable = path.join(sharedCluster().runDir, 'kubeconfig-unreachable.yaml');
      writeFileSync(
        unreachable,
        readFileSync(sharedCluster().adminKubeconfig, 'utf8').replace(
          sharedCluster().server,
          'https://127.0.0.1:1',
        ),
      );
      expect(() =>
        canI(['get', 'pods', '-n', 'metallb-system', '--as=nobody'], { kubeconfig: unreachable }),
      ).toThrow(/answered neither yes nor no: exit 1, stdout "", stderr ".*(refused|127\.0\.0\.1:1)/);
    });
  });
});
