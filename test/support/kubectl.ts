import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../harness/binaries.js';

// kubectl caches API discovery per server; test servers come and go, so the cache stays in the repo.
const CACHE_DIR = path.join(REPO_ROOT, '.run', 'kubectl-cache');

/** Runs the real kubectl (kustomize, apply, auth can-i) and returns its output. */
export function kubectl(args: string[], options: { kubeconfig?: string; input?: string } = {}): string {
  return execFileSync(
    'kubectl',
    [
      '--cache-dir',
      CACHE_DIR,
      ...(options.kubeconfig === undefined ? [] : ['--kubeconfig', options.kubeconfig]),
      ...args,
    ],
    {
      cwd: REPO_ROOT,
      input: options.input ?? '',
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

export function render(overlay: string): string {
  return kubectl(['kustomize', path.join(REPO_ROOT, 'deploy', overlay)]);
}
