// The Helm chart, checked by a real helm (built from the Go module proxy): lint, render, and install
// and upgrade against the test apiserver with a values file written for the original Rust chart.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, expect, it } from '@jest/globals';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  type KubernetesObject,
  type V1Role,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { provisioned, REPO_ROOT, testKubernetesVersion } from '../harness/binaries.js';
import { goToBuild } from '../harness/metallb-runtime.js';
import { adminKubeConfig, createTestNamespace, sharedCluster } from '../harness/shared-cluster.js';
import { describeIf } from '../support/declared-skips.js';
import { canI, render } from '../support/kubectl.js';

const CHART = path.join(REPO_ROOT, 'deploy/helm/metallb-dyn6');
const ORIGINAL_VALUES = path.join(REPO_ROOT, 'test/fixtures/helm/original-values.yaml');

let helmBin = '';
function helm(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(helmBin, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: path.join(REPO_ROOT, '.run', 'helm-home') },
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
const docs = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJSON() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
/** The first object of a kind, typed as the test reads it (the cast is the test's claim about the shape). */
function find(objects: KubernetesObject[], kind: string): unknown {
  const found = objects.find((d) => d.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} rendered`);
  return found;
}

interface PodTemplate {
  spec: { containers: { args: string[]; env: { name: string; value: string }[] }[] };
}

// What `--api-versions` tells helm template of a cluster that serves the policy API (Kubernetes >= 1.30).
const VAP_API = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
interface ServicePolicy {
  metadata: { name: string };
  spec: Record<string, unknown> & { matchConditions: { name: string; expression: string }[] };
}

describeIf(goToBuild('helm', '1.26'), 'no-go-toolchain', 'the Helm chart', () => {
  beforeAll(() => {
    helmBin = provisioned('provision-go-tool.sh', ['helm.sh/helm/v3/cmd/helm', 'v3.21.4']);
  }, 900_000);

  it('passes helm lint', () => {
    const lint = helm(['lint', CHART, '-f', ORIGINAL_VALUES]);
    expect(lint.stderr + lint.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(lint.code).toBe(0);
  });

  it('refuses to render without the host range and the pool, naming them', () => {
    const bare = helm(['template', 'dyn6', CHART]);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('metallb.hostRange is required');
  });

  it("takes the original chart's values file as it is: the same settings reach the same variables", () => {
    const objects = docs(
      helm(['template', 'dyn6', CHART, '-n', 'metallb-system', '-f', ORIGINAL_VALUES]).stdout,
    );
    const deployment = find(objects, 'Deployment') as { spec: { template: PodTemplate } };
    const container = deployment.spec.template.spec.containers[0];
    expect(container?.args).toEqual(['run']);
    expect(Object.fromEntries(container?.env.map((e) => [e.name, e.value]) ?? [])).toEqual({
      METALLB_DYN6_LOG_LEVEL: 'warn',
      METALLB_DYN6_HOST_RANGE: '::1000-::1999',
      METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
      METALLB_DYN6_SOURCE: 'my-ip',
      METALLB_DYN6_SUBNET_OVERRIDE: '0:0:0:cd::',
      METALLB_DYN6_PREFIX_LENGTH: '56',
      METALLB_DYN6_UPDATE_INTERVAL: '120',
      METALLB_DYN6_METALLB_NAMESPACE: 'metallb-system',
      METALLB_DYN6_METALLB_LABEL_SELECTOR:
        'app.kubernetes.io/name=metallb,app.kubernetes.io/instance=metallb',
      METALLB_DYN6_KEEP_HOST_PARTS: 'none',
    });
    // Keeping host parts is off unless asked for: then no cluster-wide grant either.
    expect(objects.filter((d) => d.kind === 'ClusterRole')).toEqual([]);
    expect((find(objects, 'ServiceAccount') as KubernetesObject).metadata?.annotations).toEqual({
      team: 'home-lab',
    });
  });

  it('renders the same Role as deploy/role (kustomize), aimed at the configured pool', () => {
    const helmRole = find(
      docs(helm(['template', 'dyn6', CHART, '-f', ORIGINAL_VALUES]).stdout),
      'Role',
    ) as V1Role;
    const kustomizeRole = find(docs(render('role')), 'Role') as V1Role;
    expect(helmRole.rules).toEqual(kustomizeRole.rules);
  });

  it('keepHostParts adds the ClusterRole of deploy/components/keep-host-parts and the setting; a typo is refused', () => {
    const objects = docs(
      helm(['template', 'dyn6', CHART, '-f', ORIGINAL_VALUES, '--set', 'keepHostParts=annotated']).stdout,
    );
    const component = find(docs(render('components/keep-host-parts')), 'ClusterRole') as V1Role;
    expect((find(objects, 'ClusterRole') as V1Role).rules).toEqual(component.rules);
    const binding = find(objects, 'ClusterRoleBinding') as { subjects: unknown[] };
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'dyn6-metallb-dyn6', namespace: 'default' },
    ]);
    const deployment = find(objects, 'Deployment') as { spec: { template: PodTemplate } };
    expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'METALLB_DYN6_KEEP_HOST_PARTS',
      value: 'annotated',
    });
    const typo = helm(['template', 'dyn6', CHART, '-f', ORIGINAL_VALUES, '--set', 'keepHostParts=yes']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain('keepHostParts must be none, annotated or all, not "yes"');
  });

  it("keepHostParts adds the component's ValidatingAdmissionPolicy for the release's account where the cluster serves it", () => {
    const policyOf = (objects: KubernetesObject[]) =>
      find(objects, 'ValidatingAdmissionPolicy') as ServicePolicy;
    const shipped = policyOf(docs(render('components/keep-host-parts')));
    /** The chart in namespace apps, on a cluster that serves the policy API, with these values set. */
    const servedHere = (...values: string[]) =>
      docs(
        helm([
          'template',
          'dyn6',
          CHART,
          '-n',
          'apps',
          '-f',
          ORIGINAL_VALUES,
          ...values.flatMap((v) => ['--set', v]),
          '--api-versions',
          VAP_API,
        ]).stdout,
      );
    const objects = servedHere('keepHostParts=all');
    const policy = policyOf(objects);
    // The same rules as the component; only the identity differs: the release's ServiceAccount.
    const { matchConditions, ...rules } = policy.spec;
    const { matchConditions: shippedConditions, ...shippedRules } = shipped.spec;
    expect(rules).toEqual(shippedRules);
    expect(shippedConditions.map((c) => c.expression)).toEqual([
      "request.userInfo.username == 'system:serviceaccount:metallb-system:metallb-dyn6'",
    ]);
    expect(matchConditions).toEqual([
      {
        name: 'metallb-dyn6-only',
        expression: "request.userInfo.username == 'system:serviceaccount:apps:dyn6-metallb-dyn6'",
      },
    ]);
    expect((find(objects, 'ClusterRoleBinding') as { subjects: unknown[] }).subjects).toEqual([
      { kind: 'ServiceAccount', name: 'dyn6-metallb-dyn6', namespace: 'apps' },
    ]);
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding') as {
      spec: Record<string, unknown>;
    };
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });

    // A ServiceAccount name of one's own is the one the policy holds.
    const named = policyOf(servedHere('keepHostParts=annotated', 'serviceAccount.name=pinner'));
    expect(named.spec.matchConditions[0]?.expression).toBe(
      "request.userInfo.username == 'system:serviceaccount:apps:pinner'",
    );

    // A cluster older than 1.30 would refuse the whole release for one unknown kind: there the chart
    // ships the grant alone. (helm template knows no cluster, so it answers like an old one.)
    const old = docs(
      helm(['template', 'dyn6', CHART, '-f', ORIGINAL_VALUES, '--set', 'keepHostParts=all']).stdout,
    );
    const oldKinds = old.map((d) => d.kind);
    expect(oldKinds).toEqual(expect.arrayContaining(['ClusterRole', 'ClusterRoleBinding']));
    expect(oldKinds.filter((k) => k?.startsWith('Validating') === true)).toEqual([]);
    // Off, nothing of it.
    const off = servedHere();
    expect(off.some((d) => d.kind?.startsWith('Validating') === true)).toBe(false);
  });

  it('in cronjob mode runs one sync per schedule with the kustomize CronJob overlay’s safety settings', () => {
    const objects = docs(
      helm(['template', 'dyn6', CHART, '-f', ORIGINAL_VALUES, '--set', 'mode=cronjob']).stdout,
    );
    expect(objects.some((d) => d.kind === 'Deployment')).toBe(false);
    const cron = find(objects, 'CronJob') as {
      spec: Record<string, unknown> & {
        jobTemplate: { spec: Record<string, unknown> & { template: PodTemplate } };
      };
    };
    const overlay = find(docs(render('overlays/cronjob')), 'CronJob') as {
      spec: Record<string, unknown> & { jobTemplate: { spec: Record<string, unknown> } };
    };
    for (const key of [
      'concurrencyPolicy',
      'startingDeadlineSeconds',
      'successfulJobsHistoryLimit',
      'failedJobsHistoryLimit',
    ])
      expect(cron.spec[key]).toEqual(overlay.spec[key]);
    for (const key of ['backoffLimit', 'activeDeadlineSeconds'])
      expect(cron.spec.jobTemplate.spec[key]).toEqual(overlay.spec.jobTemplate.spec[key]);
    expect(cron.spec.jobTemplate.spec).not.toHaveProperty('ttlSecondsAfterFinished');
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0]?.args).toEqual(['sync']);
  });

  it('installs on the test apiserver from the original values file, upgrades, and grants exactly what the sync needs', async () => {
    const namespace = await createTestNamespace('helm');
    const kubeconfig = sharedCluster().adminKubeconfig;
    const common = ['-n', namespace, '--kubeconfig', kubeconfig, '-f', ORIGINAL_VALUES];
    const install = helm(['install', 'dyn6', CHART, ...common]);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    const apps = adminKubeConfig().makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({ name: 'dyn6-metallb-dyn6', namespace });
    expect(deployment.spec?.template.spec?.serviceAccountName).toBe('dyn6-metallb-dyn6');

    // A current cluster serves batch/v1 CronJobs; 1.20 only v1beta1, so there the upgrade changes a value.
    const upgradeTo =
      testKubernetesVersion() === '1.20' ? ['--set', 'dyn6.updateInterval=300'] : ['--set', 'mode=cronjob'];
    const upgrade = helm(['upgrade', 'dyn6', CHART, ...common, ...upgradeTo]);
    expect(upgrade.code).toBe(0);
    if (testKubernetesVersion() === '1.20') {
      const updated = await apps.readNamespacedDeployment({ name: 'dyn6-metallb-dyn6', namespace });
      expect(updated.spec?.template.spec?.containers[0]?.env).toContainEqual({
        name: 'METALLB_DYN6_UPDATE_INTERVAL',
        value: '300',
      });
    } else {
      await expect(
        apps.readNamespacedDeployment({ name: 'dyn6-metallb-dyn6', namespace }),
      ).rejects.toMatchObject({ code: 404 });
    }

    const as = `--as=system:serviceaccount:${namespace}:dyn6-metallb-dyn6`;
    const can = (...args: string[]) => canI([...args, '-n', namespace, as], { kubeconfig });
    expect(can('patch', 'ipaddresspools.metallb.io/ipv6-pool')).toBe(true);
    expect(can('patch', 'ipaddresspools.metallb.io/other-pool')).toBe(false);
    expect(can('deletecollection', 'pods')).toBe(true);
    expect(can('delete', 'pods')).toBe(false);
    expect(can('create', 'events')).toBe(true);
    expect(can('get', 'secrets')).toBe(false);
    const account = await adminKubeConfig()
      .makeApiClient(CoreV1Api)
      .readNamespacedServiceAccount({ name: 'dyn6-metallb-dyn6', namespace });
    expect(account.metadata?.annotations).toMatchObject({ team: 'home-lab' });
  });

  it('installs keepHostParts on the test apiserver, with the policy for the release exactly where the API is served', async () => {
    const namespace = await createTestNamespace('helm-pins');
    const kubeconfig = sharedCluster().adminKubeconfig;
    // The ClusterRole and the policy are cluster-wide and named after the release: a release of its own.
    const release = namespace;
    const at = ['-n', namespace, '--kubeconfig', kubeconfig];
    const install = helm([
      'install',
      release,
      CHART,
      ...at,
      '-f',
      ORIGINAL_VALUES,
      '--set',
      'keepHostParts=annotated',
    ]);
    try {
      expect(install.stderr).toBe('');
      expect(install.code).toBe(0);
      const kinds = docs(helm(['get', 'manifest', release, ...at]).stdout).map((d) => d.kind);
      expect(kinds).toContain('ClusterRole');
      if (testKubernetesVersion() === '1.20') {
        // Asked of the cluster, helm finds no such kind: the release is the grant without the policy.
        expect(kinds).not.toContain('ValidatingAdmissionPolicy');
        return;
      }
      expect(kinds).toContain('ValidatingAdmissionPolicyBinding');
      const policy = await adminKubeConfig()
        .makeApiClient(AdmissionregistrationV1Api)
        .readValidatingAdmissionPolicy({ name: `${release}-metallb-dyn6-service-pinner` });
      expect(policy.spec?.matchConditions?.map((c) => c.expression)).toEqual([
        `request.userInfo.username == 'system:serviceaccount:${namespace}:${release}-metallb-dyn6'`,
      ]);
    } finally {
      helm(['uninstall', release, ...at]);
    }
  });
});
