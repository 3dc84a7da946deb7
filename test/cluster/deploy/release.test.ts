// The release as its users get it, rehearsed end to end: scripts/release/publish.sh (what the release
// workflow runs) publishes to a registry on 127.0.0.1 with a throwaway cosign key, then the chart is
// installed as the seed's README shows — only the two required values — from the OCI reference and
// from `helm repo add`, with helm v4 and v3, on the test control plane; signatures, the SBOM
// attestation, an upgrade from the previous version and an uninstall are checked with the real tools.
// No pods run here (no container runtime): the API objects are what is checked.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { provisioned, REPO_ROOT } from '../../../devcluster/binaries.js';
import { createPool, readPool } from '../../../devcluster/metallb-fixture.js';
import { goToBuild } from '../../../devcluster/metallb-runtime.js';
import { adminKubeConfig, createTestNamespace, sharedCluster } from '../../../devcluster/shared-cluster.js';
import { describeIf } from '../../support/declared-skips.js';
import { runProcess, type ProcessRun } from '../../../devcluster/run-process.js';
import { startRehearsal, type Published, type Rehearsal } from '../../../scripts/release/rehearse.js';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
// SemVer: a pre-release sorts below its release, so helm offers it as the older version.
const PREVIOUS_VERSION = `${PACKAGE_VERSION}-rc.0`;
// The README's install line needs these two and nothing else.
const README_VALUES = ['--set', 'metallb.hostRange=::1000-::1999', '--set', 'metallb.pool=ipv6-pool'];
const POOL_SPEC = { addresses: ['192.168.178.240/28', '2001:db8:0:cd::1000-2001:db8:0:cd::1999'] };
const REPO_NAME = 'metallb-dyn6-rehearsal';

type HelmVersion = 'v3' | 'v4';
const HELM_VERSIONS: HelmVersion[] = ['v4', 'v3'];

let rehearsal: Rehearsal;
let previous: Published;
let current: Published;
const helmBin: Record<HelmVersion, string> = { v3: '', v4: '' };
const helmHome: Record<HelmVersion, string> = { v3: '', v4: '' };
const publishLog: string[] = [];

function helm(version: HelmVersion, args: string[]): Promise<ProcessRun> {
  // A home of its own per helm: repositories and caches of one version never serve the other.
  return runProcess(helmBin[version], args, {
    env: { PATH: process.env['PATH'] ?? '', HOME: helmHome[version] },
    timeoutMs: 120_000,
  });
}
async function helmOk(version: HelmVersion, args: string[]): Promise<string> {
  const run = await helm(version, args);
  if (run.code !== 0)
    throw new Error(`helm ${version} ${args.join(' ')} exited ${String(run.code)}: ${run.stderr}`);
  return run.stdout;
}
function cosign(args: string[]): Promise<ProcessRun> {
  return runProcess(rehearsal.tools.cosign, args, {
    env: { PATH: process.env['PATH'] ?? '', HOME: rehearsal.stateDir, COSIGN_PASSWORD: '' },
    timeoutMs: 120_000,
  });
}
async function crane(args: string[]): Promise<string> {
  const run = await runProcess(rehearsal.tools.crane, [...args, '--insecure'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: rehearsal.stateDir },
    timeoutMs: 120_000,
  });
  if (run.code !== 0) throw new Error(`crane ${args.join(' ')} exited ${String(run.code)}: ${run.stderr}`);
  return run.stdout.trim();
}
// What `cosign verify` needs without a transparency log, against a plain-HTTP registry.
const LOCAL_KEY = () => [
  '--key',
  rehearsal.publicKey,
  '--insecure-ignore-tlog=true',
  '--allow-insecure-registry',
];

/** The image repository publish.sh pushed to, without the digest. */
const imageRepository = () => `${rehearsal.registry}/${rehearsal.owner}/metallb-dyn6`;

interface HelmRelease {
  chart: string;
  app_version: string;
  revision: string;
  status: string;
}
async function release(version: HelmVersion, namespace: string): Promise<HelmRelease | undefined> {
  const list = JSON.parse(
    await helmOk(version, ['list', '-n', namespace, '--kubeconfig', kubeconfig(), '-o', 'json']),
  ) as HelmRelease[];
  return list[0];
}
const kubeconfig = () => sharedCluster().adminKubeconfig;
function deployment(kc: KubeConfig, namespace: string): Promise<V1Deployment> {
  return kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'metallb-dyn6', namespace });
}
function container(d: V1Deployment) {
  const c = d.spec?.template.spec?.containers[0];
  if (c === undefined) throw new Error('the Deployment has no container');
  return { image: c.image, env: Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value])) };
}

/** The pool as the API returns it, every field: what "left as it was" is compared on. */
async function poolObject(namespace: string): Promise<unknown> {
  return readPool(adminKubeConfig(), namespace, 'ipv6-pool');
}

describeIf(
  goToBuild('helm, cosign and crane', '1.26'),
  'no-go-toolchain',
  'the release, rehearsed against a registry on 127.0.0.1',
  () => {
    beforeAll(async () => {
      helmBin.v3 = provisioned('provision-go-tool.sh', ['helm.sh/helm/v3/cmd/helm', 'v3.21.4']);
      rehearsal = await startRehearsal({ log: (chunk) => publishLog.push(chunk) });
      helmBin.v4 = rehearsal.tools.helm;
      for (const v of HELM_VERSIONS)
        helmHome[v] = mkdtempSync(path.join(tmpdir(), `metallb-dyn6-helm-${v}-`));
      try {
        previous = await rehearsal.publish(PREVIOUS_VERSION);
        current = await rehearsal.publish();
      } catch (e) {
        throw new Error(`${String(e)}\n${publishLog.join('').slice(-4000)}`, { cause: e });
      }
      for (const v of HELM_VERSIONS) await helmOk(v, ['repo', 'add', REPO_NAME, rehearsal.pagesUrl]);
    }, 1_800_000);

    afterAll(async () => {
      await rehearsal.stop();
      for (const v of HELM_VERSIONS) rmSync(helmHome[v], { recursive: true, force: true });
    });

    it("publishes what the workflow's outputs say: image by digest, chart by OCI reference, one version", () => {
      expect(current.version).toBe(PACKAGE_VERSION);
      expect(current.image).toBe(`${imageRepository()}@${current.digest}`);
      expect(current.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(current.chart).toBe(`oci://${rehearsal.registry}/${rehearsal.owner}/charts/metallb-dyn6`);
      expect(previous.version).toBe(PREVIOUS_VERSION);
      // The pre-release's image says which version it is, so it is another image than the release's.
      expect(previous.digest).not.toBe(current.digest);
    });

    it('tags the two-platform image index itself, not an index wrapping it', async () => {
      for (const published of [current, previous]) {
        const tagged = `${imageRepository()}:${published.version}`;
        expect(await crane(['digest', tagged])).toBe(published.digest);
        const index = JSON.parse(await crane(['manifest', tagged])) as {
          mediaType: string;
          manifests: { mediaType: string; digest: string; platform?: { os: string; architecture: string } }[];
        };
        expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
        expect(index.manifests.map((m) => [m.mediaType, m.platform?.os, m.platform?.architecture])).toEqual([
          ['application/vnd.oci.image.manifest.v1+json', 'linux', 'amd64'],
          ['application/vnd.oci.image.manifest.v1+json', 'linux', 'arm64'],
        ]);
        for (const m of index.manifests) {
          const config = JSON.parse(await crane(['config', `${imageRepository()}@${m.digest}`])) as {
            config: { Labels: Record<string, string> };
          };
          expect(config.config.Labels['org.opencontainers.image.version']).toBe(published.version);
        }
      }
    });

    it('keeps every published version in the chart repository index, each pointing at its own chart', async () => {
      const index = parse(readFileSync(path.join(rehearsal.pagesDir, 'index.yaml'), 'utf8')) as {
        entries: Record<string, { version: string; appVersion: string; urls: string[] }[]>;
      };
      expect(
        (index.entries['metallb-dyn6'] ?? []).map((e) => [e.version, e.appVersion, e.urls]).sort(),
      ).toEqual(
        [PACKAGE_VERSION, PREVIOUS_VERSION]
          .map((v) => [v, v, [`${rehearsal.pagesUrl}metallb-dyn6-${v}.tgz`]])
          .sort(),
      );
      // What `helm repo add` users see: the release by default, the pre-release only when asked for.
      await helmOk('v4', ['repo', 'update', REPO_NAME]);
      const search = JSON.parse(
        await helmOk('v4', ['search', 'repo', `${REPO_NAME}/metallb-dyn6`, '-o', 'json']),
      ) as { version: string }[];
      expect(search.map((s) => s.version)).toEqual([PACKAGE_VERSION]);
    });

    describe.each(HELM_VERSIONS)('helm %s', (version) => {
      it.each(['oci', 'repository'] as const)(
        'installs from the %s as the README shows, runs the pushed image by digest, and uninstalls leaving the pool as it was',
        async (source) => {
          const namespace = await createTestNamespace(
            `release-${version}-${source === 'oci' ? 'oci' : 'repo'}`,
          );
          const kc = adminKubeConfig();
          await createPool(kc, namespace, 'ipv6-pool', POOL_SPEC);
          const before = await poolObject(namespace);
          const chart =
            source === 'oci'
              ? [current.chart, '--version', current.version, '--plain-http']
              : [`${REPO_NAME}/metallb-dyn6`];
          const at = ['--namespace', namespace, '--kubeconfig', kubeconfig()];
          const install = await helm(version, ['install', 'metallb-dyn6', ...chart, ...at, ...README_VALUES]);
          // helm 3 reports the chart it pulled from a registry on stderr; anything else there is a warning.
          const warnings = install.stderr.replace(/^(Pulled|Digest): .*\n/gm, '');
          expect({ code: install.code, warnings }).toEqual({ code: 0, warnings: '' });

          expect(await release(version, namespace)).toMatchObject({
            chart: `metallb-dyn6-${PACKAGE_VERSION}`,
            app_version: PACKAGE_VERSION,
            status: 'deployed',
          });
          const { image, env } = container(await deployment(kc, namespace));
          // By digest, so what runs is exactly what was signed; a tag, if the chart adds one, is informative.
          expect(image).toMatch(new RegExp(`^${imageRepository().replace(/[.]/g, '\\.')}(:[^@/]+)?@`));
          expect(image?.endsWith(`@${current.digest}`)).toBe(true);
          expect(env).toMatchObject({
            METALLB_DYN6_HOST_RANGE: '::1000-::1999',
            METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
          });

          await helmOk(version, ['uninstall', 'metallb-dyn6', ...at]);
          await expect(deployment(kc, namespace)).rejects.toMatchObject({ code: 404 });
          // Same resourceVersion, same spec, same everything: the chart never owned or touched it.
          expect(await poolObject(namespace)).toEqual(before);
        },
        300_000,
      );

      it(`upgrades from ${PREVIOUS_VERSION} keeping the values: --reuse-values keeps its image too, a plain upgrade and --reset-then-reuse-values move to the new one`, async () => {
        const namespace = await createTestNamespace(`release-${version}-upgrade`);
        const kc = adminKubeConfig();
        await createPool(kc, namespace, 'ipv6-pool', POOL_SPEC);
        const at = ['--namespace', namespace, '--kubeconfig', kubeconfig()];
        // v4 from the OCI registry, v3 from the classic repository: both paths users take.
        const [chart, extra] =
          version === 'v4' ? [current.chart, ['--plain-http']] : [`${REPO_NAME}/metallb-dyn6`, []];
        const userValues = {
          metallb: { hostRange: '::1000-::1999', pool: 'ipv6-pool' },
          dyn6: { updateInterval: 300 },
        };
        await helmOk(version, [
          'install',
          'metallb-dyn6',
          chart,
          '--version',
          PREVIOUS_VERSION,
          ...extra,
          ...at,
          ...README_VALUES,
          '--set',
          'dyn6.updateInterval=300',
        ]);
        expect((await release(version, namespace))?.chart).toBe(`metallb-dyn6-${PREVIOUS_VERSION}`);
        expect(container(await deployment(kc, namespace)).image).toMatch(new RegExp(`@${previous.digest}$`));

        /** Upgrades to the current version with these flags; what the release then says and runs. */
        const upgrade = async (...flags: string[]) => {
          await helmOk(version, [
            'upgrade',
            'metallb-dyn6',
            chart,
            '--version',
            PACKAGE_VERSION,
            ...extra,
            ...at,
            ...flags,
          ]);
          const values: unknown = JSON.parse(
            await helmOk(version, ['get', 'values', 'metallb-dyn6', ...at, '-o', 'json']),
          );
          return {
            release: await release(version, namespace),
            values,
            ...container(await deployment(kc, namespace)),
          };
        };
        const kept = {
          release: {
            chart: `metallb-dyn6-${PACKAGE_VERSION}`,
            app_version: PACKAGE_VERSION,
            status: 'deployed',
          },
          values: userValues,
          env: {
            METALLB_DYN6_HOST_RANGE: '::1000-::1999',
            METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
            METALLB_DYN6_UPDATE_INTERVAL: '300',
          },
        };
        const rollback = () => helmOk(version, ['rollback', 'metallb-dyn6', '1', ...at]);

        // --reuse-values takes the previous chart's defaults with the user's values, and the pinned
        // digest is one of those defaults: the values are kept, and so is the old image. Users who
        // upgrade this way must be told (or use one of the two ways below).
        expect(await upgrade('--reuse-values')).toMatchObject({
          ...kept,
          image: expect.stringMatching(new RegExp(`@${previous.digest}$`)),
        });
        await rollback();
        // Without value flags helm carries the user's values over onto the new chart's defaults.
        expect(await upgrade()).toMatchObject({
          ...kept,
          image: expect.stringMatching(new RegExp(`@${current.digest}$`)),
        });
        await rollback();
        expect(await upgrade('--reset-then-reuse-values')).toMatchObject({
          ...kept,
          image: expect.stringMatching(new RegExp(`@${current.digest}$`)),
        });
        await helmOk(version, ['uninstall', 'metallb-dyn6', ...at]);
      }, 300_000);
    });

    it('signs the image index: cosign verify passes for it and fails for a tampered image', async () => {
      const good = await cosign(['verify', ...LOCAL_KEY(), current.image]);
      expect({ code: good.code, stderr: good.stderr }).toMatchObject({ code: 0 });
      const claims = JSON.parse(good.stdout) as {
        critical: { image: { 'docker-manifest-digest': string } };
      }[];
      // cosign 3 keeps signature and attestation as bundles beside each other; each covers the index.
      expect(new Set(claims.map((c) => c.critical.image['docker-manifest-digest']))).toEqual(
        new Set([current.digest]),
      );
      // The chart is signed the same way.
      const chartRef = `${current.chart.replace(/^oci:\/\//, '')}@${current.chartDigest}`;
      expect((await cosign(['verify', ...LOCAL_KEY(), chartRef])).code).toBe(0);

      // A digest the signature does not cover: one of the platform images inside the index.
      const index = JSON.parse(await crane(['manifest', current.image])) as {
        manifests: { digest: string; platform: { architecture: string } }[];
      };
      const amd64 = index.manifests.find((m) => m.platform.architecture === 'amd64')?.digest ?? '';
      const modified = await cosign(['verify', ...LOCAL_KEY(), `${imageRepository()}@${amd64}`]);
      expect(modified.code).not.toBe(0);
      expect(modified.stderr).toMatch(/no signatures found|no matching signatures/i);

      // A different image pushed under the release's tag, signed with someone else's key.
      const tag = `${imageRepository()}:${current.version}`;
      const tampered = await crane([
        'mutate',
        `${imageRepository()}@${amd64}`,
        '--label',
        'tampered=true',
        '-t',
        tag,
      ]);
      try {
        const tamperedDigest = await crane(['digest', tag]);
        expect(tamperedDigest).not.toBe(current.digest);
        expect(tampered).toContain(tamperedDigest);
        const otherKey = path.join(rehearsal.stateDir, 'attacker');
        expect((await cosign(['generate-key-pair', '--output-key-prefix', otherKey])).code).toBe(0);
        const signedByOther = await cosign([
          'sign',
          '--yes',
          '--key',
          `${otherKey}.key`,
          '--use-signing-config=false',
          '--tlog-upload=false',
          '--allow-insecure-registry',
          `${imageRepository()}@${tamperedDigest}`,
        ]);
        expect(signedByOther.code).toBe(0);
        // It is signed, just not by the release's key: that alone is what makes verification fail.
        const forOther = await cosign([
          'verify',
          '--key',
          `${otherKey}.pub`,
          '--insecure-ignore-tlog=true',
          '--allow-insecure-registry',
          tag,
        ]);
        expect(forOther.code).toBe(0);
        const byTag = await cosign(['verify', ...LOCAL_KEY(), tag]);
        expect(byTag.code).not.toBe(0);
        expect(byTag.stderr).toMatch(/signatures do not match threshold, Found: 0/);
      } finally {
        // The tag back where the release put it; the chart names the digest and never depended on it.
        await crane(['tag', current.image, current.version]);
      }
      expect(await crane(['digest', `${imageRepository()}:${current.version}`])).toBe(current.digest);
    });

    it('attaches a signed CycloneDX SBOM listing exactly the npm packages bundled into the image', async () => {
      const verified = await cosign([
        'verify-attestation',
        ...LOCAL_KEY(),
        '--type',
        'cyclonedx',
        current.image,
      ]);
      expect({ code: verified.code, stderr: verified.code === 0 ? '' : verified.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      const statements = verified.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l): unknown =>
          JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')),
        );
      const statement = statements[0] as {
        predicateType: string;
        subject: { digest: { sha256: string } }[];
        predicate: { bomFormat: string; components: { name: string; version: string; purl: string }[] };
      };
      expect(statement.predicateType).toBe('https://cyclonedx.org/bom');
      expect(statement.subject.map((s) => `sha256:${s.digest.sha256}`)).toEqual([current.digest]);
      expect(statement.predicate.bomFormat).toBe('CycloneDX');
      const listed = new Map(statement.predicate.components.map((c) => [c.name, c.version]));
      const installed = (name: string) =>
        (
          JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
            version: string;
          }
        ).version;
      for (const name of ['ky', 'ipaddr.js', '@kubernetes/client-node', 'p-limit'])
        expect([name, listed.get(name)]).toEqual([name, installed(name)]);

      // Every package whose code the shipped bundle carries (its source map, written independently of
      // the SBOM's metafile by the jest run's own bundle) is listed ...
      const map = JSON.parse(readFileSync(path.join(REPO_ROOT, 'dist/bundle/main.mjs.map'), 'utf8')) as {
        sources: string[];
      };
      const shipped = new Set(
        map.sources
          .map((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(s)?.[1])
          .filter((n): n is string => n !== undefined),
      );
      expect([...shipped].filter((n) => !listed.has(n))).toEqual([]);
      // ... and nothing that is not in the image: development tools, and the Lambda-only AWS SDK.
      for (const absent of ['jest', 'esbuild', 'typescript', 'yaml', '@aws-sdk/client-eks'])
        expect(listed.has(absent)).toBe(false);
    });
  },
);
