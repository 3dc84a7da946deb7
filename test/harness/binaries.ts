import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const REQUIRED = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;
export type Binary = (typeof REQUIRED)[number];

function cacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache');
  return path.join(base, 'metallb-dyn6', 'k8s-1.20.2', 'bin');
}

function complete(dir: string): boolean {
  return REQUIRED.every((b) => existsSync(path.join(dir, b)));
}

/**
 * Folder holding the control-plane binaries: KUBEBUILDER_ASSETS when it has them (the envtest
 * convention), else the cache, provisioned on first use.
 */
export function controlPlaneBinaries(): Record<Binary, string> {
  const assets = process.env['KUBEBUILDER_ASSETS'];
  let dir = assets !== undefined && assets !== '' && complete(assets) ? assets : cacheDir();
  if (!complete(dir)) {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/provision-control-plane.sh'), dir], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    dir = cacheDir();
  }
  return Object.fromEntries(REQUIRED.map((b) => [b, path.join(dir, b)])) as Record<Binary, string>;
}
