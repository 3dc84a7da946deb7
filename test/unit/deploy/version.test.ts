// One version in one place: package.json's version is the chart's version and appVersion, the tag of
// every image the deploy overlays name, and the version label the image build writes. A release
// bumps package.json (npm version) and the chart; this test fails until every other place agrees.
// Files only: no cluster, no build.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../../devcluster/binaries.js';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const VERSION = (JSON.parse(read('package.json')) as { version: string }).version;
const CHART_DIR = 'deploy/helm/metallb-dyn6';
const OVERLAYS = 'deploy/overlays';
// The overlays that run the released image as it is (stack.build.yml builds an image of one's own).
const RUN_THE_RELEASED_IMAGE = [
  'deploy/overlays/cronjob/cronjob.yaml',
  'deploy/overlays/knative/service.yaml',
  'deploy/overlays/openfaas/stack.yml',
];

/** Every YAML file under `dir`, relative to the repository. */
function yamlFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

interface ImageRef {
  file: string;
  ref: string;
}
/**
 * The image references in a YAML file: every `image:` string (pod specs, Knative, OpenFaaS stacks)
 * and kustomize's `images:` overrides, which would change the tag a pod gets from what its file says.
 */
function imageRefs(file: string): ImageRef[] {
  const found: ImageRef[] = [];
  const walk = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key);
      return;
    }
    if (node === null || typeof node !== 'object') {
      if (key === 'image' && typeof node === 'string') found.push({ file, ref: node });
      return;
    }
    const record = node as Record<string, unknown>;
    if (key === 'images' && typeof record['name'] === 'string') {
      const name = typeof record['newName'] === 'string' ? record['newName'] : record['name'];
      const { newTag, digest } = record;
      // A tag kustomize reads as a number (newTag: 1.0) is still that text.
      if (typeof newTag === 'string' || typeof newTag === 'number')
        found.push({ file, ref: `${name}:${String(newTag)}` });
      if (typeof digest === 'string') found.push({ file, ref: `${name}@${digest}` });
      return;
    }
    for (const [k, v] of Object.entries(record)) walk(v, k);
  };
  for (const doc of parseAllDocuments(read(file))) walk(doc.toJSON(), undefined);
  return found;
}

/** registry/repository and tag of a reference (a digest beside the tag is left aside); no tag: undefined. */
function split(ref: string): { name: string; tag: string | undefined } {
  const [named = ''] = ref.split('@');
  const colon = named.lastIndexOf(':');
  if (colon === -1 || colon < named.lastIndexOf('/')) return { name: named, tag: undefined };
  return { name: named.slice(0, colon), tag: named.slice(colon + 1) };
}

describe('one version in one place', () => {
  it('package.json has a release version (x.y.z, optionally -pre)', () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it("is the chart's version and appVersion", () => {
    const chart = parseYaml(read(`${CHART_DIR}/Chart.yaml`)) as { version: unknown; appVersion: unknown };
    expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({
      version: VERSION,
      appVersion: VERSION,
    });
  });

  it("is package-lock.json's (npm ci refuses a lock that disagrees)", () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      version: string;
      packages: Record<string, { version?: string }>;
    };
    expect([lock.version, lock.packages['']?.version]).toEqual([VERSION, VERSION]);
  });

  it('is the tag of every image the deploy overlays name', () => {
    const refs = yamlFiles(OVERLAYS).flatMap(imageRefs);
    // The overlays that run the released image are among those read: the walk finds what it should.
    expect([...new Set(refs.map((r) => r.file))]).toEqual(expect.arrayContaining(RUN_THE_RELEASED_IMAGE));
    expect(refs.filter((r) => split(r.ref).tag !== VERSION)).toEqual([]);
  });

  it("names in the overlays that run the released image the chart's default image", () => {
    const values = parseYaml(read(`${CHART_DIR}/values.yaml`)) as {
      image: { registry: string; repository: string };
    };
    const published = `${values.image.registry}/${values.image.repository}`;
    expect(published).toBe('ghcr.io/metallb-dyn6/metallb-dyn6');
    const refs = RUN_THE_RELEASED_IMAGE.flatMap(imageRefs);
    expect(refs.map((r) => r.file)).toEqual(RUN_THE_RELEASED_IMAGE);
    expect(refs.filter((r) => r.ref !== `${published}:${VERSION}`)).toEqual([]);
  });

  it("is the version label and index tag scripts/build-image.sh writes (read from package.json's version)", () => {
    const script = read('scripts/build-image.sh');
    const assignments = script.split('\n').filter((line) => /^\s*(local\s+)?version=/.test(line));
    // One assignment: nothing later in the script can set another version.
    expect(assignments).toHaveLength(1);
    // That assignment as the script runs it, with its $root: it yields package.json's version.
    const evaluated = execFileSync(
      'bash',
      ['-c', `root="$1"; ${assignments[0] ?? ''}; printf %s "$version"`, '-', REPO_ROOT],
      {
        encoding: 'utf8',
      },
    );
    expect(evaluated).toBe(VERSION);
    expect(script).toContain('-l "org.opencontainers.image.version=$version"');
    expect(script).toContain('--tag "$repo:$version"');
  });
});
