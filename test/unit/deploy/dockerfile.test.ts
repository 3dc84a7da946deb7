// The image build copies every repository file the bundler and the CLI import: checked against
// esbuild's own account of the import graph, so a file left out of a COPY fails here and not at
// `docker build` time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../../devcluster/binaries.js';

/** The sources of the build stage's COPY lines (not those copying from another stage). */
function copiedPaths(): string[] {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const buildStage = dockerfile.split(/^FROM /m)[1] ?? '';
  return [...buildStage.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
    const words = (m[1] ?? '').trim().split(/\s+/);
    return words.slice(0, -1);
  });
}

async function repositoryImports(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
}

describe('Dockerfile', () => {
  it.each(['scripts/bundle.ts', 'functions/cli/main.ts'])(
    'copies every repository file %s imports into the build stage',
    async (entry) => {
      const copied = copiedPaths();
      const inputs = await repositoryImports(entry);
      expect(inputs.length).toBeGreaterThan(1);
      const missing = inputs.filter(
        (f) => !copied.some((c) => f === c || f.startsWith(`${c.replace(/\/$/, '')}/`)),
      );
      expect(missing).toEqual([]);
    },
  );

  it('builds and runs on Node 22', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:22-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^FROM gcr\.io\/distroless\/nodejs22-debian12:nonroot$/m);
  });
});
