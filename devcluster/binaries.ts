import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's radvd: the home router's and the renumbering tests' router advertisements. */
export const RADVD = '/usr/sbin/radvd';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const REQUIRED = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;
export type Binary = (typeof REQUIRED)[number];

/**
 * The Kubernetes versions the test control plane runs: the oldest supported one, built from
 * Debian's source package, and current ones, built from the Go module proxy with an etcd they support.
 */
export const KUBERNETES_VERSIONS = {
  '1.20': { release: '1.20.2', provision: ['scripts/provision-control-plane.sh'] },
  // The previous current plane, still selectable (CI no longer runs it).
  '1.35': { release: '1.35.4', provision: ['scripts/provision-kubernetes.sh', 'v1.35.4', 'v3.6.16'] },
  // The current plane, which CI runs next to 1.20: the newest the Go module proxy serves.
  '1.37': { release: '1.37.2', provision: ['scripts/provision-kubernetes.sh', 'v1.37.2', 'v3.6.16'] },
} as const;
export type KubernetesVersion = keyof typeof KUBERNETES_VERSIONS;

/** The version tests run against: $METALLB_DYN6_TEST_KUBERNETES (1.20, 1.35 or 1.37), else 1.20. */
export function testKubernetesVersion(): KubernetesVersion {
  const wanted = process.env['METALLB_DYN6_TEST_KUBERNETES'] ?? '1.20';
  if (!Object.hasOwn(KUBERNETES_VERSIONS, wanted))
    throw new Error(
      `METALLB_DYN6_TEST_KUBERNETES=${wanted}: expected ${Object.keys(KUBERNETES_VERSIONS).join(' or ')}`,
    );
  return wanted as KubernetesVersion;
}

/**
 * Runs a provisioning script (scripts/provision-*.sh) and returns the path it printed last
 * ("<what>: <path>" or "<what>: <path> (cached)"). Builds on first use; later calls only look.
 */
export function provisioned(script: string, args: string[] = []): string {
  const out = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const found = /: (\S+)(?: \(cached\))?\s*$/.exec(out.trim())?.[1];
  if (found === undefined) throw new Error(`${script} ${args.join(' ')} printed no path: ${out}`);
  return found;
}

function cacheDir(version: KubernetesVersion): string {
  const base = process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache');
  return path.join(base, 'metallb-dyn6', `k8s-${KUBERNETES_VERSIONS[version].release}`, 'bin');
}

function complete(dir: string): boolean {
  return REQUIRED.every((b) => existsSync(path.join(dir, b)));
}

/**
 * Folder holding the control-plane binaries: KUBEBUILDER_ASSETS when it has them (the envtest
 * convention), else the version's cache, provisioned on first use.
 */
export function controlPlaneBinaries(
  version: KubernetesVersion = testKubernetesVersion(),
): Record<Binary, string> {
  const assets = process.env['KUBEBUILDER_ASSETS'];
  let dir = assets !== undefined && assets !== '' && complete(assets) ? assets : cacheDir(version);
  if (!complete(dir)) {
    const [script, ...args] = KUBERNETES_VERSIONS[version].provision;
    execFileSync('bash', [path.join(REPO_ROOT, script), ...args, cacheDir(version)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    dir = cacheDir(version);
  }
  return Object.fromEntries(REQUIRED.map((b) => [b, path.join(dir, b)])) as Record<Binary, string>;
}
