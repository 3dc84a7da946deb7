import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../harness/binaries.js';

/** Runs the real kubectl (kustomize, apply, auth can-i) and returns its output. */
export function kubectl(args: string[], options: { kubeconfig?: string; input?: string } = {}): string {
  return execFileSync(
    'kubectl',
    [...(options.kubeconfig === undefined ? [] : ['--kubeconfig', options.kubeconfig]), ...args],
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
