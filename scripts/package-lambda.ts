// Packages the Lambda functions offline with the Serverless Framework (osls, v3-compatible) and
// unpacks each artifact, as the tests and the benchmark inspect and run it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const LAMBDA_FUNCTIONS = ['sync', 'http'] as const;

/** Writes <dir>/<function>.zip and unpacks each into <dir>/<function>/. */
export function packageLambda(dir: string): void {
  // serverless-esbuild leaves a copy of every function it zips in the temp folder; keep those here.
  const tmp = path.join(dir, '.tmp');
  mkdirSync(tmp, { recursive: true });
  // The framework keeps its settings and compiled validators under $HOME: keep them in the repository.
  const home = path.join(ROOT, '.run', 'serverless-home');
  mkdirSync(home, { recursive: true });
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/osls/bin/serverless.js'), 'package', '--package', dir],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          HOME: home,
          TMPDIR: tmp,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
        },
        stdio: 'pipe',
      },
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const fn of LAMBDA_FUNCTIONS) {
    execFileSync('python3', ['-m', 'zipfile', '-e', path.join(dir, `${fn}.zip`), path.join(dir, fn)]);
  }
}
