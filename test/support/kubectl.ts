import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../devcluster/binaries.js';

// kubectl caches API discovery per server; test servers come and go, so the cache stays in the repo.
const CACHE_DIR = path.join(REPO_ROOT, '.run', 'kubectl-cache');

export interface KubectlOptions {
  kubeconfig?: string;
  input?: string;
}

const kubectlArgs = (args: string[], options: KubectlOptions) => [
  '--cache-dir',
  CACHE_DIR,
  ...(options.kubeconfig === undefined ? [] : ['--kubeconfig', options.kubeconfig]),
  ...args,
];

/** Runs the real kubectl (kustomize, apply) and returns its output; throws if it exits non-zero. */
export function kubectl(args: string[], options: KubectlOptions = {}): string {
  return execFileSync('kubectl', kubectlArgs(args, options), {
    cwd: REPO_ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * `kubectl auth can-i`, answered: true for "yes" (exit 0), false for "no" (exit 1), each with nothing
 * on stderr. Anything else throws — kubectl also exits 1 when it cannot reach the server or does not
 * know the resource, and such a failure must not read as "no".
 */
export function canI(args: string[], options: KubectlOptions = {}): boolean {
  const all = ['auth', 'can-i', ...args];
  const run = spawnSync('kubectl', kubectlArgs(all, options), {
    cwd: REPO_ROOT,
    input: '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  const { status, stdout, stderr } = run;
  if (status === 0 && stdout === 'yes\n' && stderr === '') return true;
  if (status === 1 && stdout === 'no\n' && stderr === '') return false;
  throw new Error(
    `kubectl ${all.join(' ')} answered neither yes nor no: ` +
      `exit ${String(status ?? run.signal ?? run.error?.message)}, ` +
      `stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`,
  );
}

export function render(overlay: string): string {
  return kubectl(['kustomize', path.join(REPO_ROOT, 'deploy', overlay)]);
}

/** An overlay rendered the way a user adds components: `overlay` with them in `components:`. */
export function renderWithComponents(overlay: string, components: readonly string[]): string {
  const dir = path.join(
    REPO_ROOT,
    '.run',
    'overlays',
    [overlay, ...components].join('+').replaceAll('/', '-'),
  );
  mkdirSync(dir, { recursive: true });
  const up = (p: string) => path.relative(dir, path.join(REPO_ROOT, 'deploy', p));
  writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${up(overlay)}]`,
      `components: [${components.map(up).join(', ')}]`,
      '',
    ].join('\n'),
  );
  return kubectl(['kustomize', dir]);
}
