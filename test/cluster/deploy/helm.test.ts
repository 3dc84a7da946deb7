// The Helm chart, checked by real helm binaries of both majors the README supports (built from the
// Go module proxy): lint, render, schema refusals, and install and upgrade against the test
// apiserver with a values file written for the original Rust chart.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1Role,
} from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseHostRanges } from '../../../lib/prefix/host-range.js';
import { provisioned, REPO_ROOT, testKubernetesVersion } from '../../../devcluster/binaries.js';
import { established } from '../../../devcluster/metallb-fixture.js';
import { goModuleDir, goToBuild } from '../../../devcluster/metallb-runtime.js';
import { adminKubeConfig, createTestNamespace, sharedCluster } from '../../../devcluster/shared-cluster.js';
import { describeIf } from '../../support/declared-skips.js';
import { canI, kubectl, render, renderWithComponents } from '../../support/kubectl.js';

const CHART = path.join(REPO_ROOT, 'deploy/helm/metallb-dyn6');
const ORIGINAL_VALUES = path.join(REPO_ROOT, 'test/fixtures/helm/original-values.yaml');
const APP_VERSION = (
  parseYaml(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string }
).appVersion;
// The published image's name with the repository's placeholder owner (the release workflow puts
// the real owner into a copy of values.yaml).
const PUBLISHED_IMAGE = 'ghcr.io/metallb-dyn6/metallb-dyn6';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
// prometheus-operator's module, whose example/ holds the monitoring.coreos.com CRDs it generates.
const PROMETHEUS_OPERATOR = 'v0.85.0';

// The majors users run: helm 4 (4.3.x) and helm 3 at 3.21.4 exactly (the approved 3.x release).
const HELMS = [
  { version: 'v3.21.4', module: 'helm.sh/helm/v3/cmd/helm' },
  { version: 'v4.3.2', module: 'helm.sh/helm/v4/cmd/helm' },
] as const;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function runHelm(bin: string, home: string, args: string[]): Run {
  const run = spawnSync(bin, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: home },
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
/** The values a refusal names, sorted (helm lists them in no fixed order), each "at '/json/pointer'". */
/**
 * The values a refusal names: the innermost pointers only (a check nested in the schema's
 * allOf/if/else is also reported at each level above it, '' and '/metallb').
 */
function refusedAt(stderr: string): string[] {
  const pointers = [...new Set([...stderr.matchAll(/at '([^']*)'/g)].map((m) => m[1] ?? ''))];
  return pointers.filter((p) => !pointers.some((q) => q !== p && q.startsWith(`${p}/`))).sort();
}

interface HttpProbe {
  httpGet: { path: string; port: string };
}
interface Container {
  image: string;
  args: string[];
  env: { name: string; value: string }[];
  ports?: { name: string; containerPort: number; protocol: string }[];
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[] };
}
interface Deployment {
  spec: { template: PodTemplate };
}
interface CronJob {
  spec: Record<string, unknown> & {
    jobTemplate: { spec: Record<string, unknown> & { template: PodTemplate } };
  };
}
interface Service {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    type: string;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: string }[];
  };
}
interface ServiceMonitor {
  apiVersion: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: Record<string, unknown>[];
  };
}

// What `--api-versions` tells helm template of a cluster that serves the policy API (Kubernetes >= 1.30).
const VAP_API = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
interface ServicePolicy {
  metadata: { name: string };
  spec: Record<string, unknown> & { matchConditions: { name: string; expression: string }[] };
}

// Host ranges as users write them, with the CLI's verdict (lib/prefix/host-range.ts) as the oracle:
// the schema must refuse none the CLI accepts and every one that is malformed as text.
const HOST_RANGES = [
  '::1000-::1999',
  '::1000/116',
  '::1000-::1999,::3000/120',
  ' ::1000 - ::1999 , ::3000/120 ',
  '::1000 /116',
  '::1000/0116',
  '0::1000/116',
  '0:0:0:0:1:2:3:4-0:0:0:0:1:2:3:5',
  '0:0:0:0:1::1-0:0:0:0:1::2',
  '::0:1:2:3:4/128',
  '::ffff:1.2.3.4-::ffff:1.2.3.5',
  '::FFFF-::FFFF',
  '::-::1',
  '',
  ' ',
  '::1000',
  '::1000-',
  '2001:db8::1000-2001:db8::1999',
  '2001:db8::/64',
  '::1000/48',
  '::1000/129',
  '10.0.0.1-10.0.0.9',
  'fe80::1%eth0-fe80::2',
  '::1000-::1999,',
  '::1:2:3:4:5-::1:2:3:4:6',
  '::1000-::1999-::2000',
  '::g-::h',
  '::1000/1 16',
  '::1000–::1999',
];
// Well-formed text the CLI refuses on arithmetic a pattern cannot do: it exits 2 naming the problem.
const LEFT_TO_THE_CLI = ['::1999-::1000', '::1001/116', '::1000-::1999,::1500/120'];

describeIf(goToBuild('helm', '1.26'), 'no-go-toolchain', 'the Helm chart', () => {
  let work = '';
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-helm-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });
  /** A values file holding `values` (for text --set would split at commas). */
  const valuesFile = (name: string, values: unknown) => {
    const file = path.join(work, `${name}.json`);
    writeFileSync(file, JSON.stringify(values));
    return file;
  };

  describe.each(HELMS)('with helm $version', ({ version, module }) => {
    let helmBin = '';
    // Each major its own config and cache folders: nothing one writes can change what the other does.
    const helm = (args: string[]) =>
      runHelm(helmBin, path.join(REPO_ROOT, '.run', `helm-home-${version}`), args);
    /** The objects the chart renders from the original values file plus `sets`. */
    const rendered = (...sets: string[]) => {
      const run = helm([
        'template',
        'dyn6',
        CHART,
        '-f',
        ORIGINAL_VALUES,
        ...sets.flatMap((s) => ['--set', s]),
      ]);
      if (run.code !== 0) throw new Error(`helm template failed: ${run.stderr}`);
      return docs(run.stdout);
    };
    /** Rendered for namespace apps of a cluster that serves the policy API. */
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
    const imageOf = (objects: KubernetesObject[]) =>
      (find(objects, 'Deployment') as Deployment).spec.template.spec.containers[0]?.image;

    beforeAll(() => {
      // helm 4's first build takes about ten minutes; later runs find it cached.
      helmBin = provisioned('provision-go-tool.sh', [module, version]);
    }, 1_800_000);

    it('is the helm it claims to be', () => {
      // helm built by go install reports its major.minor (a release build adds the patch).
      const reported = helm(['version', '--template', '{{ .Version }}']);
      expect(reported.code).toBe(0);
      expect(version.startsWith(reported.stdout.trim())).toBe(true);
    });

    it('passes helm lint', () => {
      const lint = helm(['lint', CHART, '-f', ORIGINAL_VALUES]);
      expect(lint.stderr + lint.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(lint.code).toBe(0);
    });

    it('refuses to render without the host range and the pool, naming both', () => {
      const bare = helm(['template', 'dyn6', CHART]);
      expect(bare.code).not.toBe(0);
      expect(refusedAt(bare.stderr)).toEqual(['/metallb/hostRange', '/metallb/pool']);
      expect(bare.stderr).toContain('start-end such as ::1000-::1999');
      expect(bare.stdout).toBe('');
    });

    // Each malformed value on its own, the rest from the original values file: helm refuses and
    // names that value alone.
    it.each([
      ['metallb.hostRange=2001:db8::1000-2001:db8::1999', '/metallb/hostRange'],
      ['metallb.pool=IPv6_Pool', '/metallb/pool'],
      ['dyn6.updateInterval=0', '/dyn6/updateInterval'],
      ['dyn6.updateInterval=5m', '/dyn6/updateInterval'],
      ['dyn6.updateInterval=604801', '/dyn6/updateInterval'],
      ['dyn6.source=', '/dyn6/source'],
      ['dyn6.subnetOverride.prefixLength=64', '/dyn6/subnetOverride/prefixLength'],
      ['dyn6.subnetOverride.override=0:0:0:00cd', '/dyn6/subnetOverride/override'],
      ['mode=serve', '/mode'],
      ['keepHostParts=yes', '/keepHostParts'],
      ['loglevel=verbose', '/loglevel'],
      ['image.registry=ghcr.io/', '/image/registry'],
      ['image.repository=Metallb-Dyn6', '/image/repository'],
      ['image.tag=v1/2', '/image/tag'],
      ['image.digest=sha256:0123', '/image/digest'],
      ['image.pullPolicy=always', '/image/pullPolicy'],
      ['metrics.serviceMonitor.enabled=yes', '/metrics/serviceMonitor/enabled'],
      ['metrics.serviceMonitor.interval=1min', '/metrics/serviceMonitor/interval'],
      ['metrics.serviceMonitor.scrapeTimeout=10', '/metrics/serviceMonitor/scrapeTimeout'],
      ['metalb.pool=ipv6-pool', ''],
    ])('refuses %s, naming %j', (set, pointer) => {
      const run = helm(['template', 'dyn6', CHART, '-f', ORIGINAL_VALUES, '--set', set]);
      expect(run.code).not.toBe(0);
      expect(refusedAt(run.stderr)).toEqual([pointer]);
      expect(run.stdout).toBe('');
    });

    it('refuses an empty or blank cron schedule in cronjob mode, naming it', () => {
      for (const schedule of ['', ' ']) {
        const run = helm([
          'template',
          'dyn6',
          CHART,
          '-f',
          ORIGINAL_VALUES,
          '-f',
          valuesFile('schedule', { mode: 'cronjob', cronjob: { schedule } }),
        ]);
        expect(run.code).not.toBe(0);
        expect(refusedAt(run.stderr)).toEqual(['/cronjob/schedule']);
      }
    });

    it("refuses exactly the host ranges the CLI refuses as text; arithmetic is the CLI's", () => {
      const verdicts = [...HOST_RANGES, ...LEFT_TO_THE_CLI].map((hostRange, i) => {
        const run = helm([
          'template',
          'dyn6',
          CHART,
          '-f',
          ORIGINAL_VALUES,
          '-f',
          valuesFile(`host-range-${String(i)}`, { metallb: { hostRange } }),
        ]);
        if (run.code !== 0) expect(refusedAt(run.stderr)).toEqual(['/metallb/hostRange']);
        return { hostRange, helm: run.code === 0, cli: parseHostRanges(hostRange).ok };
      });
      // The samples hold both verdicts, so the comparison below can fail either way.
      expect(new Set(verdicts.map((v) => v.cli))).toEqual(new Set([true, false]));
      expect(verdicts.filter((v) => v.helm !== v.cli)).toEqual(
        LEFT_TO_THE_CLI.map((hostRange) => ({ hostRange, helm: true, cli: false })),
      );
    });

    it("keeps the templates' own refusals for --skip-schema-validation", () => {
      const skip = (...sets: string[]) =>
        helm(['template', 'dyn6', CHART, '--skip-schema-validation', ...sets.flatMap((s) => ['--set', s])]);
      expect(skip().stderr).toContain('metallb.hostRange is required');
      expect(skip('metallb.hostRange=::1000-::1999').stderr).toContain('metallb.pool is required');
      const valid = ['metallb.hostRange=::1000-::1999', 'metallb.pool=ipv6-pool'];
      expect(skip(...valid, 'keepHostParts=yes').stderr).toContain(
        'keepHostParts must be none, annotated or all, not "yes"',
      );
      expect(skip(...valid, 'mode=serve').stderr).toContain('mode must be run or cronjob, not "serve"');
      expect(skip(...valid).code).toBe(0);
    });

    it("takes the original chart's values file as it is: the same settings reach the same variables", () => {
      const objects = docs(
        helm(['template', 'dyn6', CHART, '-n', 'metallb-system', '-f', ORIGINAL_VALUES]).stdout,
      );
      const container = (find(objects, 'Deployment') as Deployment).spec.template.spec.containers[0];
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
        METALLB_DYN6_BACKEND: 'metallb',
      });
      // Its image.repository held the full path, registry included: used as it is.
      expect(container?.image).toBe(`quay.io/spacebird-dev/metallb-dyn6:${APP_VERSION}`);
      // Keeping host parts is off unless asked for: then no cluster-wide grant either.
      expect(objects.filter((d) => d.kind === 'ClusterRole')).toEqual([]);
      expect((find(objects, 'ServiceAccount') as KubernetesObject).metadata?.annotations).toEqual({
        team: 'home-lab',
      });
    });

    it("takes the original chart's null defaults (role.annotations, labels)", () => {
      const run = helm([
        'template',
        'dyn6',
        CHART,
        '-f',
        ORIGINAL_VALUES,
        '-f',
        path.join(REPO_ROOT, 'test/fixtures/helm/original-nulls.yaml'),
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect((find(docs(run.stdout), 'Role') as KubernetesObject).metadata?.annotations).toBeUndefined();
    });

    describe('names the image', () => {
      /** The image of the chart's own defaults plus the two required values and `sets`. */
      const image = (...sets: string[]) => {
        const run = helm([
          'template',
          'dyn6',
          CHART,
          ...['metallb.hostRange=::1000-::1999', 'metallb.pool=ipv6-pool', ...sets].flatMap((s) => [
            '--set',
            s,
          ]),
        ]);
        if (run.code !== 0) throw new Error(`helm template failed: ${run.stderr}`);
        return imageOf(docs(run.stdout));
      };

      it("by default: the published image at the chart's appVersion", () => {
        expect(image()).toBe(`${PUBLISHED_IMAGE}:${APP_VERSION}`);
      });

      it('at the tag given', () => {
        expect(image('image.tag=0.2.0-rc.1')).toBe(`${PUBLISHED_IMAGE}:0.2.0-rc.1`);
      });

      it('by digest alone when a digest is given, whatever the tag (the runtime would ignore it)', () => {
        expect(image(`image.digest=${DIGEST}`)).toBe(`${PUBLISHED_IMAGE}@${DIGEST}`);
        expect(image(`image.digest=${DIGEST}`, 'image.tag=0.2.0')).toBe(`${PUBLISHED_IMAGE}@${DIGEST}`);
      });

      it('in the registry and repository the release script writes (a local registry with a port)', () => {
        expect(
          image(
            'image.registry=127.0.0.1:5000',
            'image.repository=owner/metallb-dyn6',
            `image.digest=${DIGEST}`,
          ),
        ).toBe(`127.0.0.1:5000/owner/metallb-dyn6@${DIGEST}`);
      });

      it('without a registry when registry is empty or the repository starts with a host', () => {
        expect(image('image.registry=', 'image.repository=metallb-dyn6')).toBe(`metallb-dyn6:${APP_VERSION}`);
        expect(image('image.repository=localhost:5000/metallb-dyn6')).toBe(
          `localhost:5000/metallb-dyn6:${APP_VERSION}`,
        );
      });

      it('the same in cronjob mode', () => {
        const cron = find(rendered('mode=cronjob', `image.digest=${DIGEST}`), 'CronJob') as CronJob;
        expect(cron.spec.jobTemplate.spec.template.spec.containers[0]?.image).toBe(
          `quay.io/spacebird-dev/metallb-dyn6@${DIGEST}`,
        );
      });
    });

    it('runs mode run with its health endpoints probed and its metrics port behind a ClusterIP Service', () => {
      const objects = rendered();
      const pod = (find(objects, 'Deployment') as Deployment).spec.template;
      const container = pod.spec.containers[0];
      expect(container?.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(container?.livenessProbe?.httpGet).toEqual({ path: '/health/liveness', port: 'http' });
      expect(container?.readinessProbe?.httpGet).toEqual({ path: '/health/readiness', port: 'http' });
      const service = find(objects, 'Service') as Service;
      expect(service.spec.type).toBe('ClusterIP');
      expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
      // The Service reaches this release's pod and no other.
      expect(pod.metadata.labels).toMatchObject(service.spec.selector);
      expect(service.spec.selector).toEqual({
        'app.kubernetes.io/name': 'metallb-dyn6',
        'app.kubernetes.io/instance': 'dyn6',
      });
      // Scraping is the ServiceMonitor's business (or the user's): no prometheus.io/* annotations.
      const annotationKeys = objects.flatMap((d) => [
        ...Object.keys(d.metadata?.annotations ?? {}),
        ...Object.keys(
          (d as { spec?: { template?: { metadata?: { annotations?: object } } } }).spec?.template?.metadata
            ?.annotations ?? {},
        ),
      ]);
      expect(annotationKeys.filter((k) => k.startsWith('prometheus.io'))).toEqual([]);
      // Off by default: a cluster without prometheus-operator's CRDs would refuse the release.
      expect(objects.some((d) => d.kind === 'ServiceMonitor')).toBe(false);
    });

    it("adds a ServiceMonitor when asked for, selecting the Service's metrics port, with the labels kube-prometheus-stack selects by", () => {
      const objects = rendered(
        'metrics.serviceMonitor.enabled=true',
        'metrics.serviceMonitor.interval=30s',
        'metrics.serviceMonitor.scrapeTimeout=5s',
        'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
      );
      const monitor = find(objects, 'ServiceMonitor') as ServiceMonitor;
      const service = find(objects, 'Service') as Service;
      expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(monitor.metadata.labels).toMatchObject({
        release: 'kube-prometheus-stack',
        'app.kubernetes.io/name': 'metallb-dyn6',
      });
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['default'] });
      expect(monitor.spec.endpoints).toEqual([
        { port: 'http', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '5s' },
      ]);
      expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]?.['port']);
      // Empty durations leave Prometheus's own defaults.
      const defaults = find(
        rendered(
          'metrics.serviceMonitor.enabled=true',
          'metrics.serviceMonitor.interval=',
          'metrics.serviceMonitor.scrapeTimeout=',
        ),
        'ServiceMonitor',
      ) as ServiceMonitor;
      expect(defaults.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', scheme: 'http' }]);
    });

    it('renders the same Role as deploy/role (kustomize), aimed at the configured pool', () => {
      const helmRole = find(rendered(), 'Role') as V1Role;
      const kustomizeRole = find(docs(render('role')), 'Role') as V1Role;
      expect(helmRole.rules).toEqual(kustomizeRole.rules);
    });

    it('keepHostParts adds the ClusterRole of deploy/components/keep-host-parts and the setting', () => {
      const objects = rendered('keepHostParts=annotated');
      const component = find(docs(render('components/keep-host-parts')), 'ClusterRole') as V1Role;
      expect((find(objects, 'ClusterRole') as V1Role).rules).toEqual(component.rules);
      const binding = find(objects, 'ClusterRoleBinding') as { subjects: unknown[] };
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'dyn6-metallb-dyn6', namespace: 'default' },
      ]);
      expect(
        (find(objects, 'Deployment') as Deployment).spec.template.spec.containers[0]?.env,
      ).toContainEqual({
        name: 'METALLB_DYN6_KEEP_HOST_PARTS',
        value: 'annotated',
      });
    });

    it('backend cilium grants what deploy/components/cilium grants instead of the MetalLB Role, and sets the backend', () => {
      const component = docs(renderWithComponents('overlays/cronjob', ['components/cilium']));
      const rulesOf = (objects: KubernetesObject[], kind: string) =>
        objects.filter((o) => o.kind === kind).map((o) => (o as V1Role).rules);
      const objects = rendered('backend=cilium');
      // Both aimed at ipv6-pool: the component's default, and the pool of the original values.
      expect(rulesOf(objects, 'ClusterRole')).toEqual(rulesOf(component, 'ClusterRole'));
      expect(rulesOf(objects, 'Role')).toEqual(rulesOf(component, 'Role'));
      expect(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata?.namespace)).toEqual(['default']);
      const env = (find(objects, 'Deployment') as Deployment).spec.template.spec.containers[0]?.env;
      expect(env).toContainEqual({ name: 'METALLB_DYN6_BACKEND', value: 'cilium' });
      // auto may meet either pool: both grants.
      expect(rendered('backend=auto').map((o) => `${o.kind ?? ''}/${o.metadata?.name ?? ''}`)).toEqual(
        expect.arrayContaining(['Role/dyn6-metallb-dyn6', 'ClusterRole/dyn6-metallb-dyn6-cilium-pool']),
      );
    });

    it('nptv6 grants what deploy/components/nptv6 grants instead of the Role, with its policy, and sets the mode', () => {
      const component = docs(renderWithComponents('overlays/cronjob', ['components/nptv6']));
      const objects = servedHere(
        'nptv6.translation=rfc6296',
        'nptv6.inside=fd00:1234:5678::/48',
        'nptv6.delegatedLength=48',
      );
      const rulesOf = (from: KubernetesObject[], kind: string) =>
        from.filter((o) => o.kind === kind).map((o) => (o as V1Role).rules);
      expect(rulesOf(objects, 'ClusterRole')).toEqual(rulesOf(component, 'ClusterRole'));
      expect(objects.filter((o) => o.kind === 'Role')).toEqual([]);
      const specOf = (from: KubernetesObject[]) => {
        const { variables, validations, failurePolicy, matchConstraints } = (
          find(from, 'ValidatingAdmissionPolicy') as { spec: Record<string, unknown> }
        ).spec;
        return { variables, validations, failurePolicy, matchConstraints };
      };
      expect(specOf(objects)).toEqual(specOf(component));
      const env = (find(objects, 'Deployment') as Deployment).spec.template.spec.containers[0]?.env ?? [];
      expect(
        env.filter(
          (e) => e.name.includes('NPTV6') || e.name.includes('DELEGATED') || e.name.includes('POOL'),
        ),
      ).toEqual([
        { name: 'METALLB_DYN6_NPTV6', value: 'rfc6296' },
        { name: 'METALLB_DYN6_NPTV6_INSIDE', value: 'fd00:1234:5678::/48' },
        { name: 'METALLB_DYN6_NPTV6_PUBLISH', value: 'all' },
        { name: 'METALLB_DYN6_NPTV6_RECORDS', value: 'annotations' },
        { name: 'METALLB_DYN6_DELEGATED_PREFIX_LENGTH', value: '48' },
      ]);
    });

    it("keepHostParts adds the component's ValidatingAdmissionPolicy for the release's account where the cluster serves it", () => {
      const policyOf = (objects: KubernetesObject[]) =>
        find(objects, 'ValidatingAdmissionPolicy') as ServicePolicy;
      const shipped = policyOf(docs(render('components/keep-host-parts')));
      /** The chart in namespace apps, on a cluster that serves the policy API, with these values set. */
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
      const oldKinds = rendered('keepHostParts=all').map((d) => d.kind);
      expect(oldKinds).toEqual(expect.arrayContaining(['ClusterRole', 'ClusterRoleBinding']));
      expect(oldKinds.filter((k) => k?.startsWith('Validating') === true)).toEqual([]);
      // Off, nothing of it.
      const off = servedHere();
      expect(off.some((d) => d.kind?.startsWith('Validating') === true)).toBe(false);
    });

    it('in cronjob mode runs one sync per schedule with the kustomize CronJob overlay’s safety settings, and serves nothing', () => {
      // The ServiceMonitor asked for too: a CronJob's pod has no endpoint, so it is left out.
      const objects = rendered('mode=cronjob', 'metrics.serviceMonitor.enabled=true');
      expect(
        objects
          .map((d) => d.kind)
          .filter((k) => ['Deployment', 'Service', 'ServiceMonitor'].includes(k ?? '')),
      ).toEqual([]);
      const cron = find(objects, 'CronJob') as CronJob;
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
      const container = cron.spec.jobTemplate.spec.template.spec.containers[0];
      expect(container?.args).toEqual(['sync']);
      expect(container).not.toHaveProperty('ports');
      expect(container).not.toHaveProperty('livenessProbe');
      expect(container).not.toHaveProperty('readinessProbe');
    });

    it('installs on the test apiserver from the original values file, upgrades, and grants exactly what the sync needs', async () => {
      const namespace = await createTestNamespace('helm');
      const kubeconfig = sharedCluster().adminKubeconfig;
      const common = ['-n', namespace, '--kubeconfig', kubeconfig, '-f', ORIGINAL_VALUES];
      // helm install checks the schema too, before it writes anything.
      const refused = helm(['install', 'dyn6', CHART, ...common, '--set', 'metallb.pool=IPv6_Pool']);
      expect(refused.code).not.toBe(0);
      expect(refusedAt(refused.stderr)).toEqual(['/metallb/pool']);
      expect(helm(['list', '-q', '-a', '-n', namespace, '--kubeconfig', kubeconfig]).stdout.trim()).toBe('');

      const install = helm(['install', 'dyn6', CHART, ...common]);
      expect(install.stderr).toBe('');
      expect(install.code).toBe(0);
      const apps = adminKubeConfig().makeApiClient(AppsV1Api);
      const core = adminKubeConfig().makeApiClient(CoreV1Api);
      const deployment = await apps.readNamespacedDeployment({ name: 'dyn6-metallb-dyn6', namespace });
      expect(deployment.spec?.template.spec?.serviceAccountName).toBe('dyn6-metallb-dyn6');
      // The apiserver kept the port and the probes as rendered (a malformed probe would be refused).
      const container = deployment.spec?.template.spec?.containers[0];
      expect(container?.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(container?.livenessProbe?.httpGet).toMatchObject({ path: '/health/liveness', port: 'http' });
      expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/health/readiness', port: 'http' });
      const service = await core.readNamespacedService({ name: 'dyn6-metallb-dyn6', namespace });
      expect(service.spec?.type).toBe('ClusterIP');
      expect(service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([
        ['http', 8080, 'http'],
      ]);

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
        // Nothing to scrape in cronjob mode: the Service goes with the Deployment.
        await expect(
          core.readNamespacedService({ name: 'dyn6-metallb-dyn6', namespace }),
        ).rejects.toMatchObject({
          code: 404,
        });
      }

      const as = `--as=system:serviceaccount:${namespace}:dyn6-metallb-dyn6`;
      const can = (...args: string[]) => canI([...args, '-n', namespace, as], { kubeconfig });
      expect(can('patch', 'ipaddresspools.metallb.io/ipv6-pool')).toBe(true);
      expect(can('patch', 'ipaddresspools.metallb.io/other-pool')).toBe(false);
      expect(can('deletecollection', 'pods')).toBe(true);
      expect(can('delete', 'pods')).toBe(false);
      expect(can('create', 'events')).toBe(true);
      expect(can('get', 'secrets')).toBe(false);
      const account = await core.readNamespacedServiceAccount({ name: 'dyn6-metallb-dyn6', namespace });
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

    // prometheus-operator's own ServiceMonitor CRD in the test apiserver: the apiserver checks the
    // chart's ServiceMonitor against the schema a cluster with kube-prometheus-stack has.
    describeIf(
      testKubernetesVersion() === '1.20'
        ? {
            unavailable:
              "Kubernetes 1.20's apiserver refuses prometheus-operator's current CRDs (string defaults)",
          }
        : goToBuild("prometheus-operator's CRDs", '1.26'),
      testKubernetesVersion() === '1.20' ? 'plane-too-old' : 'no-go-toolchain',
      "against prometheus-operator's ServiceMonitor CRD",
      () => {
        beforeAll(async () => {
          const operator = goModuleDir(
            'github.com/prometheus-operator/prometheus-operator',
            PROMETHEUS_OPERATOR,
          );
          // Cluster-wide and the same for every test: applied (idempotent), left for later runs' tests.
          kubectl(
            [
              'apply',
              '-f',
              path.join(
                operator,
                'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml',
              ),
            ],
            { kubeconfig: sharedCluster().adminKubeconfig },
          );
          await established(
            adminKubeConfig().makeApiClient(ApiextensionsV1Api),
            'servicemonitors.monitoring.coreos.com',
          );
        }, 300_000);

        it('installs the ServiceMonitor, and the apiserver keeps every field of it (none unknown to the CRD)', async () => {
          const namespace = await createTestNamespace('helm-metrics');
          const kubeconfig = sharedCluster().adminKubeconfig;
          const at = ['-n', namespace, '--kubeconfig', kubeconfig];
          const sets = [
            'metrics.serviceMonitor.enabled=true',
            'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
          ].flatMap((s) => ['--set', s]);
          const install = helm(['install', 'dyn6', CHART, ...at, '-f', ORIGINAL_VALUES, ...sets]);
          expect(install.stderr).toBe('');
          expect(install.code).toBe(0);
          const manifest = find(
            docs(helm(['get', 'manifest', 'dyn6', ...at]).stdout),
            'ServiceMonitor',
          ) as ServiceMonitor;
          const stored = (await adminKubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
            group: 'monitoring.coreos.com',
            version: 'v1',
            namespace,
            plural: 'servicemonitors',
            name: 'dyn6-metallb-dyn6',
          })) as ServiceMonitor;
          // A structural CRD prunes what its schema does not know: an unknown field would be missing here.
          expect(stored.spec).toEqual(manifest.spec);
          expect(stored.spec.endpoints).toEqual([
            { port: 'http', path: '/metrics', scheme: 'http', interval: '60s', scrapeTimeout: '10s' },
          ]);
          expect(stored.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
        });

        it('the CRD refuses what breaks its schema (the check above is real)', () => {
          const monitor = find(
            rendered('metrics.serviceMonitor.enabled=true'),
            'ServiceMonitor',
          ) as ServiceMonitor;
          const broken = structuredClone(monitor);
          broken.spec.endpoints[0] = { ...broken.spec.endpoints[0], scheme: 'gopher' };
          expect(() =>
            kubectl(['apply', '--dry-run=server', '-n', 'default', '-f', '-'], {
              kubeconfig: sharedCluster().adminKubeconfig,
              input: JSON.stringify(broken),
            }),
          ).toThrow(/scheme/);
        });
      },
    );
  });
});
