// scripts/release/changelog-notes.sh cuts a GitHub release's notes out of CHANGELOG.md: exactly the
// tagged version's section, and a failure (so no release is made) when the changelog has none.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { runProcess } from '../../../devcluster/run-process.js';

const SCRIPT = path.join(REPO_ROOT, 'scripts/release/changelog-notes.sh');
const work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-changelog-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const notes = (version: string, changelog?: string) =>
  runProcess('bash', [SCRIPT, version, ...(changelog === undefined ? [] : [changelog])], {
    env: { PATH: process.env['PATH'] ?? '' },
  });

function changelogFile(name: string, text: string): string {
  const file = path.join(work, name);
  writeFileSync(file, text);
  return file;
}

const THREE_VERSIONS = `# Changelog

Intro text that belongs to no version.

## [Unreleased]

- something not released yet

## [1.2.3] - 2026-12-01

### Fixed

- the third fix

## [1.2.0] - 2026-11-01

### Added

- the second feature

## [1.1.0] - 2026-10-01

- the first feature

[1.2.3]: https://github.com/metallb-dyn6/metallb-dyn6/compare/v1.2.0...v1.2.3
[1.2.0]: https://github.com/metallb-dyn6/metallb-dyn6/compare/v1.1.0...v1.2.0
`;

describe('changelog-notes.sh', () => {
  it("prints the version's section only: no heading, no neighbour, no blank edges", async () => {
    const file = changelogFile('three.md', THREE_VERSIONS);
    const run = await notes('1.2.0', file);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toBe('### Added\n\n- the second feature\n');
  });

  it('takes the tag spelling (v1.2.3) as well as the version', async () => {
    const file = changelogFile('three.md', THREE_VERSIONS);
    const run = await notes('v1.2.3', file);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('### Fixed\n\n- the third fix\n');
  });

  it('leaves out the link references that end the last section', async () => {
    const file = changelogFile('three.md', THREE_VERSIONS);
    const run = await notes('1.1.0', file);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('- the first feature\n');
  });

  it('fails, naming the heading it wants, for a version the changelog does not have', async () => {
    const file = changelogFile('three.md', THREE_VERSIONS);
    for (const version of ['9.9.9', '1.2', '2.3', '1.2.30']) {
      const run = await notes(version, file);
      expect({ version, code: run.code, stdout: run.stdout }).toEqual({ version, code: 1, stdout: '' });
      expect(run.stderr).toContain(`has no section for version ${version}`);
      expect(run.stderr).toContain(`## [${version}] - YYYY-MM-DD`);
    }
  });

  it('fails for a section with nothing in it', async () => {
    const file = changelogFile(
      'empty.md',
      '# Changelog\n\n## [2.0.0] - 2026-12-02\n\n\n## [1.0.0] - 2026-01-01\n\n- x\n',
    );
    const run = await notes('2.0.0', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('has no section for version 2.0.0');
  });

  it("finds the repository's CHANGELOG.md by default, with a section for package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const run = await notes(version);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/\S/);
    expect(run.stdout).not.toMatch(/^## /m);
  });
});
