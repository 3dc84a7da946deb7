// Writes the CycloneDX SBOM of the container image's application layer: the npm packages the CLI
// bundle actually contains. npm's own SBOM is wrong both ways for an image: it lists production
// dependencies no bundled file comes from (the Lambda's AWS SDK, tree-shaken code), and `--omit dev`
// drops packages that are both a production and a development dependency (npm 11 leaves out
// js-yaml, ws, debug ... which client-node bundles). esbuild's metafile of the very build
// scripts/build-image.sh runs says which package files went in, so npm's entries for the whole tree
// (purl, licence, integrity hash, dependency graph) are kept for exactly those packages.
//
// Usage: tsx scripts/release/sbom.ts OUT_FILE [--version VERSION]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildOptions } from '../bundle.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Component {
  'bom-ref'?: string;
  type: string;
  name: string;
  version?: string;
  purl?: string;
  properties?: { name: string; value: string }[];
  [key: string]: unknown;
}
interface Bom {
  metadata: { component?: Component; tools?: unknown; lifecycles?: unknown; [key: string]: unknown };
  components?: Component[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
  [key: string]: unknown;
}

/** name@version of each package at least one bundled file comes from, with how many files. */
export async function bundledPackages(): Promise<
  Map<string, { name: string; version: string; files: number }>
> {
  const result = await build({ ...buildOptions('cli'), metafile: true, write: false, absWorkingDir: ROOT });
  const packages = new Map<string, { name: string; version: string; files: number }>();
  for (const input of Object.keys(result.metafile.inputs)) {
    // The innermost node_modules/<name> (a nested copy is its own package and version).
    const dir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path.resolve(ROOT, input))?.[1];
    if (dir === undefined) continue;
    const { name, version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    const key = `${name}@${version}`;
    const seen = packages.get(key);
    if (seen === undefined) packages.set(key, { name, version, files: 1 });
    else seen.files++;
  }
  return packages;
}

export async function bundleSbom(version: string): Promise<Bom> {
  const bundled = await bundledPackages();
  const npm = JSON.parse(
    execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--package-lock-only'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    }),
  ) as Bom;
  const kept = new Map<string, Component>();
  for (const c of npm.components ?? []) {
    const key = `${c.name}@${c.version ?? ''}`;
    const files = bundled.get(key)?.files;
    if (files === undefined || kept.has(key)) continue;
    // In the bundle it runs in production, whatever role npm's tree gives it.
    kept.set(key, {
      ...c,
      scope: 'required',
      properties: [
        ...(c.properties ?? []).filter((p) => p.name !== 'cdx:npm:package:development'),
        { name: 'metallb-dyn6:bundled-files', value: String(files) },
      ],
    });
  }
  // A bundled file npm's lockfile does not know would be a package the SBOM hides: refuse instead.
  const unknown = [...bundled.keys()].filter((k) => !kept.has(k));
  if (unknown.length > 0)
    throw new Error(
      `bundled packages missing from npm's SBOM (is package-lock.json current?): ${unknown.join(', ')}`,
    );

  const refs = new Set([...kept.values()].map((c) => c['bom-ref']));
  const rootRef = npm.metadata.component?.['bom-ref'];
  refs.add(rootRef);
  return {
    ...npm,
    metadata: {
      ...npm.metadata,
      lifecycles: [{ phase: 'build' }],
      tools: [
        ...(Array.isArray(npm.metadata.tools) ? (npm.metadata.tools as unknown[]) : []),
        { vendor: 'metallb-dyn6', name: 'scripts/release/sbom.ts', version },
      ],
      component: {
        ...(npm.metadata.component ?? { type: 'application' }),
        type: 'application',
        name: 'metallb-dyn6',
        version,
        purl: `pkg:npm/metallb-dyn6@${version}`,
        description: 'The CLI bundle /app/main.mjs of the metallb-dyn6 container image',
      },
    },
    components: [...kept.values()].sort((a, b) => a.name.localeCompare(b.name)),
    dependencies: (npm.dependencies ?? [])
      .filter((d) => refs.has(d.ref))
      .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => refs.has(r)) })),
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, ...rest] = process.argv.slice(2);
  if (out === undefined) throw new Error('usage: sbom.ts OUT_FILE [--version VERSION]');
  const at = rest.indexOf('--version');
  const version =
    at >= 0
      ? (rest[at + 1] ?? '')
      : (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const bom = await bundleSbom(version);
  writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
  console.error(`[sbom] ${String(bom.components?.length)} bundled npm packages -> ${out}`);
}
