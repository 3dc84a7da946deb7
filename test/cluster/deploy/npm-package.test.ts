// The npm package as a user gets it: packed the way `npm publish` packs it in the release workflow
// (prepack builds the bundle), installed from the tarball into an empty folder, and run through npx
// against the test control plane. The bin is one bundled file: the package depends on nothing (every
// library is a devDependency, bundled at build time), so installing it downloads nothing else.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { auditSettled } from '../../../devcluster/shared-cluster.js';
import { runProcess, runToSuccess } from '../../../devcluster/run-process.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD } from '../../../devcluster/home-cluster.js';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

/** What the package must hold, and nothing else: the bin, its licence notes, the documents. */
function expectedFiles(): string[] {
  const always = [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    // The command, and the program it runs.
    'dist/bundle/cli.mjs',
    'dist/bundle/main.mjs',
    // esbuild's list of the licences of the code it bundled: shipped with the code it describes.
    'dist/bundle/main.mjs.LEGAL.txt',
  ];
  // npm adds a LICENSE file on its own whenever the repository has one.
  const licence = existsSync(path.join(REPO_ROOT, 'LICENSE')) ? ['LICENSE'] : [];
  return [...always, ...licence].sort();
}

// npm's cache and configuration stay inside .run/, as in the other suites that run npm.
const npmEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '',
  HOME: path.join(REPO_ROOT, '.run', 'npm-home'),
});

let work: string;
let pack: PackResult;
let installed: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-npm-package-'));
  // Packed from a copy of what a fresh clone holds (no dist/): prepack must build the bin from the
  // sources, and the shared dist/bundle/cli.mjs that other suites' CLI processes are running is
  // never rewritten under them.
  const source = path.join(work, 'source');
  mkdirSync(source);
  for (const entry of [
    'package.json',
    'package-lock.json',
    'README.md',
    'CHANGELOG.md',
    'tsconfig.json',
    'lib',
    'functions',
    'scripts',
  ])
    cpSync(path.join(REPO_ROOT, entry), path.join(source, entry), { recursive: true });
  if (existsSync(path.join(REPO_ROOT, 'LICENSE')))
    cpSync(path.join(REPO_ROOT, 'LICENSE'), path.join(source, 'LICENSE'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(source, 'node_modules'));

  const packed = await runToSuccess('npm', ['pack', '--json', '--pack-destination', work], {
    env: npmEnv(),
    cwd: source,
    timeoutMs: 300_000,
  });
  // npm may print prepack's banner before the JSON document, which starts on a line of its own.
  const start = packed.stdout.search(/^\[$/m);
  [pack] = JSON.parse(packed.stdout.slice(Math.max(start, 0))) as [PackResult];

  installed = path.join(work, 'empty');
  mkdirSync(installed);
  await runToSuccess(
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-package-lock', path.join(work, pack.filename)],
    { env: npmEnv(), cwd: installed, timeoutMs: 600_000 },
  );
}, 900_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Runs the installed package's command as a user would, with only the given environment. */
const npx = (args: string[], env: Record<string, string> = {}) =>
  runProcess('npx', ['--no-install', 'metallb-dyn6', ...args], {
    env: { ...npmEnv(), ...env },
    cwd: installed,
    timeoutMs: 60_000,
  });

describe('the npm package', () => {
  it('holds only what runs: the bundled CLI, its licence notes, README and CHANGELOG', () => {
    expect(pack.filename).toBe(`${manifest.name}-${manifest.version}.tgz`);
    expect(pack.files.map((f) => f.path).sort()).toEqual(expectedFiles());
    // The bin is one of them: a package whose bin is missing installs without a command.
    expect(Object.values(manifest.bin)).toEqual(['dist/bundle/cli.mjs']);
  });

  it('installs into an empty folder and answers --help through npx', async () => {
    const help = await npx(['--help']);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: metallb-dyn6 \[sync\|run/);
    expect(help.stdout).toContain('--dry-run');
    // Installed from the tarball, not linked to this repository, and alone: no dependency came with it.
    const bin = path.join(installed, 'node_modules', manifest.name, 'dist/bundle/cli.mjs');
    expect(existsSync(bin)).toBe(true);
    expect(readdirSync(path.join(installed, 'node_modules')).filter((e) => !e.startsWith('.'))).toEqual([
      manifest.name,
    ]);
  });

  it('runs a dry-run sync against a cluster: prints the plan and changes nothing', async () => {
    const home = await homeCluster('npm-package');
    const before = await home.readPool();
    // The source comes from the flag here, as a person trying the package would give it.
    const env = home.env();
    delete env['METALLB_DYN6_SOURCE'];
    const run = await npx(
      ['sync', '--dry-run', '--output', 'text', '--source', `static:${SUBNET_NEW}::9`],
      env,
    );
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('dry-run:');
    expect(run.stdout).toContain(`- ${range(SUBNET_OLD)}`);
    expect(run.stdout).toContain(`+ ${range(SUBNET_NEW)}`);
    // Nothing changed: the pool is as it was, and the service account made one read and no write.
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual(['get ipaddresspools 200']);
  });
});
