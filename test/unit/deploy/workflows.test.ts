// The GitHub Actions workflows, read as GitHub reads them: every third-party action pinned by
// commit, each release job with exactly the permissions it uses, the release gated on the tests and
// on a tag that matches package.json, and publishing through scripts/release/publish.sh — the
// script `npm run release:rehearse` runs against a local registry, so the rehearsal proves what a
// tag does. actionlint (.github/lint-workflows.sh, in .ci/run and the CI workflow) checks the rest.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { KUBERNETES_VERSIONS, REPO_ROOT } from '../../../devcluster/binaries.js';
import { runProcess } from '../../../devcluster/run-process.js';

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  uses?: string;
  env?: Record<string, string>;
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const DIR = path.join(REPO_ROOT, '.github/workflows');
const FILES = readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const text = (file: string) => readFileSync(path.join(DIR, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Workflow;

/** Every `uses:` of a workflow as GitHub sees it: job-level (reusable workflows) and step-level. */
function usesOf(wf: Workflow): string[] {
  return Object.values(wf.jobs).flatMap((job) => [
    ...(job.uses === undefined ? [] : [job.uses]),
    ...(job.steps ?? []).flatMap((s) => (s.uses === undefined ? [] : [s.uses])),
  ]);
}

const needs = (job: Job | undefined) =>
  job?.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];

describe('the workflows', () => {
  it('are a CI workflow and a release workflow', () => {
    expect(FILES).toEqual(['ci.yml', 'release.yml']);
    expect(Object.keys(workflow('ci.yml').on).sort()).toEqual(['pull_request', 'push', 'workflow_call']);
    expect(workflow('release.yml').on).toEqual({ push: { tags: ['v*'] } });
  });

  it.each(FILES)('%s pins every third-party action by full commit SHA, its tag in a comment', (file) => {
    // Read from the text too, so that the version comment is checked and no `uses:` the parser
    // sees escapes the line check (or the other way round).
    const lines = [...text(file).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].map((m) => ({
      ref: m[1] ?? '',
      rest: (m[2] ?? '').trim(),
    }));
    const parsed = usesOf(workflow(file));
    expect(lines.map((l) => l.ref).sort()).toEqual([...parsed].sort());
    expect(parsed.length).toBeGreaterThan(0);
    for (const { ref, rest } of lines) {
      if (ref.startsWith('./')) continue; // this repository's own reusable workflow
      expect({ ref, pinned: /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@[0-9a-f]{40}$/.test(ref) }).toEqual({
        ref,
        pinned: true,
      });
      expect({ ref, comment: /^# v\d+\.\d+\.\d+$/.test(rest) }).toEqual({ ref, comment: true });
    }
  });

  it('pin each action to one commit everywhere', () => {
    const pins = new Map<string, Set<string>>();
    for (const file of FILES)
      for (const ref of usesOf(workflow(file)).filter((r) => !r.startsWith('./'))) {
        const [action = '', sha = ''] = ref.split('@');
        pins.set(action, (pins.get(action) ?? new Set()).add(sha));
      }
    expect([...pins].filter(([, shas]) => shas.size !== 1)).toEqual([]);
  });

  it('build before the cluster suites the same plane, MetalLB and Cilium releases the suites ask for', () => {
    const step = (workflow('ci.yml').jobs['cluster']?.steps ?? []).find(
      (s) => s.run?.includes('provision-kubernetes.sh') === true,
    );
    const run = step?.run ?? '';
    const [script, ...args] = KUBERNETES_VERSIONS['1.37'].provision;
    expect(run).toContain(`bash ${script} ${args.join(' ')}\n`);
    const releases = /'1\.37': \[([^\]]*)\]/.exec(
      readFileSync(path.join(REPO_ROOT, 'test/cluster/real-metallb.test.ts'), 'utf8'),
    )?.[1];
    const wanted = [...(releases ?? '').matchAll(/'(v[\d.]+)'/g)].map((m) => m[1]);
    expect(wanted.length).toBeGreaterThan(0);
    expect(run).toContain(`for version in ${wanted.join(' ')}; do bash scripts/provision-metallb.sh`);
    const cilium = /CILIUM_RELEASES = \[([^\]]*)\]/.exec(
      readFileSync(path.join(REPO_ROOT, 'devcluster/cilium-operator.ts'), 'utf8'),
    )?.[1];
    const ciliumWanted = [...(cilium ?? '').matchAll(/'(v[\d.]+)'/g)].map((m) => m[1]);
    expect(ciliumWanted.length).toBeGreaterThan(0);
    expect(run).toContain(`for version in ${ciliumWanted.join(' ')}; do bash scripts/provision-cilium.sh`);
    expect(workflow('ci.yml').jobs['cluster']).toMatchObject({
      env: { METALLB_DYN6_TEST_KUBERNETES: '1.37' },
    });
  });

  it('grant CI read access to the contents and nothing else', () => {
    const ci = workflow('ci.yml');
    expect(ci.permissions).toEqual({ contents: 'read' });
    expect(Object.values(ci.jobs).filter((j) => j.permissions !== undefined)).toEqual([]);
  });

  it('give each release job only the permissions it uses', () => {
    const release = workflow('release.yml');
    expect(release.permissions).toEqual({});
    expect(
      Object.fromEntries(Object.entries(release.jobs).map(([name, j]) => [name, j.permissions])),
    ).toEqual({
      version: { contents: 'read' },
      test: { contents: 'read' },
      publish: { contents: 'write', packages: 'write', 'id-token': 'write' },
      npm: { contents: 'read', 'id-token': 'write' },
      'github-release': { contents: 'write' },
    });
  });

  it('release only after the tests pass, in order: image and chart, npm, GitHub release', () => {
    const { jobs } = workflow('release.yml');
    expect(jobs['test']?.uses).toBe('./.github/workflows/ci.yml');
    expect(needs(jobs['test'])).toEqual(['version']);
    expect(needs(jobs['publish']).sort()).toEqual(['test', 'version']);
    expect(needs(jobs['npm']).sort()).toEqual(['publish', 'version']);
    expect(needs(jobs['github-release']).sort()).toEqual(['npm', 'publish', 'version']);
  });

  it('publish through scripts/release/publish.sh, the script the rehearsal runs', () => {
    const steps = workflow('release.yml').jobs['publish']?.steps ?? [];
    const publishing = steps.filter((s) => s.run?.includes('scripts/release/publish.sh') === true);
    expect(publishing).toHaveLength(1);
    const run = (publishing[0]?.run ?? '').replace(/\s*\\\n\s*/g, ' ');
    expect(run).toMatch(
      /bash scripts\/release\/publish\.sh --registry ghcr\.io --owner "\$owner" --sign keyless --pages-dir "\$PAGES_DIR" --pages-url "https:\/\/\$owner\.github\.io\/\$REPOSITORY" --version "\$VERSION"/,
    );
    // The rehearsal (npm run release:rehearse) runs the same script.
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const rehearse = /^tsx (\S+)$/.exec(manifest.scripts['release:rehearse'] ?? '')?.[1] ?? '';
    expect(readFileSync(path.join(REPO_ROOT, rehearse), 'utf8')).toContain("'scripts/release/publish.sh'");
  });

  it('publish the npm package with provenance and the token from the NPM_TOKEN secret only', () => {
    const steps = workflow('release.yml').jobs['npm']?.steps ?? [];
    const publish = steps.find((s) => s.run?.startsWith('npm publish') === true);
    expect(publish).toEqual({
      run: 'npm publish --provenance --access public',
      env: { NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}' },
    });
  });

  it('never write a secret into a command line: secrets reach steps through env only', () => {
    for (const file of FILES) {
      const secretLines = text(file)
        .split('\n')
        .filter((l) => /secrets\.|github\.token/.test(l) && !l.trim().startsWith('#'));
      for (const line of secretLines)
        expect({
          file,
          line,
          asEnv: /^\s+[A-Z_]+: \$\{\{ (secrets\.\w+|github\.token) \}\}$/.test(line),
        }).toEqual({
          file,
          line,
          asEnv: true,
        });
    }
  });
});

describe("the release's version gate", () => {
  // The version job's own script, run on a copy of the files it reads.
  const script = workflow('release.yml').jobs['version']?.steps?.find((s) => s.id === 'version')?.run ?? '';
  const work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-version-gate-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  async function gate(
    tag: string,
    options: { changelogHeading?: string; repository?: string } = {},
  ): Promise<{ code: number | null; output: string; log: string }> {
    const dir = mkdtempSync(path.join(work, 'repo-'));
    mkdirSync(path.join(dir, 'scripts/release'), { recursive: true });
    cpSync(
      path.join(REPO_ROOT, 'scripts/release/changelog-notes.sh'),
      path.join(dir, 'scripts/release/changelog-notes.sh'),
    );
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({
        version: '1.2.3',
        repository: { url: options.repository ?? 'git+https://github.com/metallb-dyn6/metallb-dyn6.git' },
      }),
    );
    writeFileSync(
      path.join(dir, 'CHANGELOG.md'),
      `# Changelog\n\n${options.changelogHeading ?? '## [1.2.3] - 2026-12-01'}\n\n- a change\n`,
    );
    const output = path.join(dir, 'github-output');
    writeFileSync(output, '');
    // As GitHub runs a `shell: bash` step (--norc: bash reads .bashrc when its stdin is a socket).
    const run = await runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        TAG: tag,
        GITHUB_OUTPUT: output,
        GITHUB_REPOSITORY: 'metallb-dyn6/metallb-dyn6',
      },
    });
    return { code: run.code, output: readFileSync(output, 'utf8'), log: run.stdout + run.stderr };
  }

  it("passes the tag of package.json's version with a dated changelog section", async () => {
    expect(await gate('v1.2.3')).toEqual({ code: 0, output: 'version=1.2.3\n', log: '' });
  });

  it('refuses another tag', async () => {
    const run = await gate('v1.2.4');
    expect([run.code, run.output]).toEqual([1, '']);
    expect(run.log).toContain("tag v1.2.4 is not package.json's version 1.2.3");
  });

  it('refuses a changelog whose section is not cut yet, or missing', async () => {
    for (const changelogHeading of [
      '## [1.2.3] - Unreleased',
      '## [Unreleased]',
      '## [1.2.30] - 2026-12-01',
    ]) {
      const run = await gate('v1.2.3', { changelogHeading });
      expect({ changelogHeading, code: run.code, output: run.output }).toEqual({
        changelogHeading,
        code: 1,
        output: '',
      });
      expect(run.log).toContain('CHANGELOG.md has no dated section "## [1.2.3] - YYYY-MM-DD"');
    }
  });

  it("refuses a package.json naming another repository (npm's provenance would)", async () => {
    const run = await gate('v1.2.3', { repository: 'git+https://github.com/someone-else/metallb-dyn6.git' });
    expect([run.code, run.output]).toEqual([1, '']);
    expect(run.log).toContain('npm publish --provenance would refuse it');
  });
});

describe("the release's GitHub release step", () => {
  const step = (workflow('release.yml').jobs['github-release']?.steps ?? []).find(
    (s) => s.run?.includes('gh release create') === true,
  );
  const work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-github-release-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("creates the release from the tag with the changelog's section and the published references", async () => {
    // A stand-in gh on PATH that records its arguments and the notes file it was given.
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    const record = path.join(work, 'gh-call');
    writeFileSync(
      path.join(bin, 'gh'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$@" >${record}\nwhile (($#)); do [[ $1 == --notes-file ]] && cp "$2" ${record}.notes; shift; done\n`,
      { mode: 0o755 },
    );
    const run = await runProcess(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step?.run ?? ''],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: `${bin}:${process.env['PATH'] ?? ''}`,
          RUNNER_TEMP: work,
          TAG: 'v0.1.0',
          VERSION: '0.1.0',
          IMAGE: 'ghcr.io/someone/metallb-dyn6:0.1.0@sha256:' + 'a'.repeat(64),
          CHART: 'oci://ghcr.io/someone/charts/metallb-dyn6',
          OWNER: 'SomeOne',
          REPOSITORY: 'metallb-dyn6',
        },
      },
    );
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(record, 'utf8').split('\n')).toEqual([
      'release',
      'create',
      'v0.1.0',
      '--verify-tag',
      '--title',
      'metallb-dyn6 0.1.0',
      '--notes-file',
      path.join(work, 'notes.md'),
      '',
    ]);
    const notes = readFileSync(`${record}.notes`, 'utf8');
    const section = await runProcess(
      'bash',
      [path.join(REPO_ROOT, 'scripts/release/changelog-notes.sh'), '0.1.0'],
      {
        env: { PATH: process.env['PATH'] ?? '' },
      },
    );
    expect(notes.startsWith(section.stdout)).toBe(true);
    expect(notes).toContain(`- Image: \`ghcr.io/someone/metallb-dyn6:0.1.0@sha256:${'a'.repeat(64)}\``);
    expect(notes).toContain(
      '- Chart: `oci://ghcr.io/someone/charts/metallb-dyn6 --version 0.1.0`, or `helm repo add metallb-dyn6 https://someone.github.io/metallb-dyn6`',
    );
  });
});

describe("the release's publish step", () => {
  const step = (workflow('release.yml').jobs['publish']?.steps ?? []).find((s) => s.id === 'publish');
  const work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-publish-step-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs the step with a stand-in publish.sh that records its arguments and prints `printed`. */
  async function publishStep(printed: string) {
    const dir = mkdtempSync(path.join(work, 'repo-'));
    mkdirSync(path.join(dir, 'scripts/release'), { recursive: true });
    writeFileSync(
      path.join(dir, 'scripts/release/publish.sh'),
      `printf '%s\\n' "$@" >"${dir}/args"\ncat <<'OUT'\n${printed}OUT\n`,
    );
    const output = path.join(dir, 'github-output');
    writeFileSync(output, '');
    const run = await runProcess(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step?.run ?? ''],
      {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '',
          RUNNER_TEMP: dir,
          GITHUB_OUTPUT: output,
          PAGES_DIR: '/pages',
          OWNER: 'SomeOne',
          REPOSITORY: 'metallb-dyn6',
          VERSION: '1.2.3',
        },
      },
    );
    return {
      code: run.code,
      log: run.stdout + run.stderr,
      args: readFileSync(path.join(dir, 'args'), 'utf8').trim().split('\n'),
      output: readFileSync(output, 'utf8'),
    };
  }

  const PRINTED = [
    'version=1.2.3',
    `image=ghcr.io/someone/metallb-dyn6:1.2.3@sha256:${'b'.repeat(64)}`,
    `digest=sha256:${'b'.repeat(64)}`,
    'chart=oci://ghcr.io/someone/charts/metallb-dyn6',
    'pages_index=/pages/index.yaml',
    '',
  ].join('\n');

  it('passes publish.sh the owner in lowercase and the Pages URL, and hands its key=value lines to the jobs after it', async () => {
    const run = await publishStep(PRINTED);
    expect(run.code).toBe(0);
    expect(run.args).toEqual([
      '--registry',
      'ghcr.io',
      '--owner',
      'someone',
      '--sign',
      'keyless',
      '--pages-dir',
      '/pages',
      '--pages-url',
      'https://someone.github.io/metallb-dyn6',
      '--version',
      '1.2.3',
    ]);
    expect(run.output).toBe(PRINTED);
  });

  it('fails when publish.sh printed no image, or published another version', async () => {
    const noImage = await publishStep(PRINTED.replace(/^image=.*\n/m, ''));
    expect([noImage.code, noImage.output]).toEqual([1, '']);
    expect(noImage.log).toContain('publish.sh printed no image=');
    const other = await publishStep(PRINTED.replace('version=1.2.3', 'version=1.2.4'));
    expect([other.code, other.output]).toEqual([1, '']);
    expect(other.log).toContain('publish.sh published another version');
  });
});
