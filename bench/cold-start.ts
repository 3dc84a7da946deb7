// Cold starts: a fresh process per sync, which a CronJob tick or a scaled-to-zero function pays every
// time. Each runtime (the machine's Node, Node 22 and 24 as users run the npm package, and the
// released image's own filesystem and entrypoint) against the same runtime's floor: raw-floor.mjs, the
// same requests with Node's built-ins only. On the image's Node, the ways to start faster side by
// side: everything loaded at start, loading on demand, plus the compile cache, and a V8 startup
// snapshot.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { buildOptions, CLI_COMMAND } from '../scripts/bundle.js';
import { clientNodeSubset } from '../scripts/client-node-subset.cjs';
import esbuildPlugins from '../scripts/esbuild-plugins.cjs';
import { REPO_ROOT } from '../devcluster/binaries.js';
import { envOf, imageFor, unpackImage } from '../devcluster/oci-image.js';
import { runProcess, runToSuccess } from '../devcluster/run-process.js';
import type { Recorder } from './host-parts.js';
import { snapshotSafe } from './snapshot-safe.js';

export interface ColdSetup {
  runs: number;
  /** The echo server: /ip answers the no-op's prefix, /flip another one each call. */
  echoUrl: string;
  /** The apiserver, its CA file and a token that may read and patch the pools. */
  server: string;
  caFile: string;
  token: string;
  /** The sync's settings, less the pool and the source. */
  settings: Record<string, string>;
  work: string;
}

/** Where a program runs: how to start Node there, and where the files it needs are, as it sees them. */
interface Runtime {
  name: string;
  node: (args: string[]) => string[];
  cli: string;
  floor: string;
  reporter: string;
  rss: { inside: string; host: string };
  caFile: string;
  /** How it reaches the apiserver (a kubeconfig, or a pod's service account), and its own settings. */
  env: Record<string, string>;
}

const poolUrl = (setup: ColdSetup, name: string) =>
  `${setup.server}/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/${name}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function timedRun(command: string[], env: Record<string, string>): Promise<number> {
  const [program = '', ...args] = command;
  return (await runToSuccess(program, args, { env })).durationMs;
}

/** Takes turns, one run of each per round, so that drifting load falls on every measurement alike. */
async function interleaved(runs: number, commands: (() => Promise<number>)[]): Promise<number[]> {
  const times = commands.map((): number[] => []);
  for (let i = 0; i < runs; i++) for (const [j, run] of commands.entries()) times[j]?.push(await run());
  return times.map(median);
}

/** The median peak resident set size (MB) of `command`, reported by report-rss.mjs at its exit. */
async function peakRss(runtime: Runtime, command: string[], env: Record<string, string>): Promise<number> {
  const sizes: number[] = [];
  for (let i = 0; i < 3; i++) {
    await timedRun(command, {
      ...env,
      NODE_OPTIONS: `--import=${runtime.reporter}`,
      BENCH_RSS_FILE: runtime.rss.inside,
    });
    sizes.push(Number(readFileSync(runtime.rss.host, 'utf8')) / 1024);
  }
  return median(sizes);
}

/** Cold no-op, cold prefix change and peak RSS of our sync in `runtime`, each against its floor. */
async function measureRuntime(record: Recorder, setup: ColdSetup, runtime: Runtime): Promise<void> {
  const base = { PATH: process.env['PATH'] ?? '', ...setup.settings, ...runtime.env };
  const noopEnv = {
    ...base,
    METALLB_DYN6_METALLB_POOL: 'noop',
    METALLB_DYN6_SOURCE: `url:${setup.echoUrl}/ip`,
  };
  const changeEnv = {
    ...base,
    METALLB_DYN6_METALLB_POOL: 'change',
    METALLB_DYN6_SOURCE: `url:${setup.echoUrl}/flip`,
  };
  const ours = runtime.node([runtime.cli, 'sync']);
  const floor = (echo: string, pool: string, ...rest: string[]) =>
    runtime.node([
      runtime.floor,
      `${setup.echoUrl}${echo}`,
      poolUrl(setup, pool),
      runtime.caFile,
      setup.token,
      ...rest,
    ]);
  // Once each untimed: the compile cache of a plain install is written by its first run.
  await timedRun(ours, noopEnv);
  await timedRun(ours, changeEnv);
  const [noop = 0, noopFloor = 0, change = 0, changeFloor = 0] = await interleaved(setup.runs, [
    () => timedRun(ours, noopEnv),
    () => timedRun(floor('/ip', 'noop'), base),
    () => timedRun(ours, changeEnv),
    () => timedRun(floor('/flip-floor', 'change-floor', 'patch'), base),
  ]);
  record.row(`cold no-op sync, ${runtime.name} / its floor (2 requests)`, noop, noopFloor, 1.2);
  record.row(`cold prefix-change sync, ${runtime.name} / its floor (3 requests)`, change, changeFloor, 1.2);
  const rss = await peakRss(runtime, ours, noopEnv);
  const rssFloor = await peakRss(runtime, floor('/ip', 'noop'), base);
  record.row(`peak RSS of a cold no-op, ${runtime.name} / its floor's`, rss, rssFloor, 1.15, 'MB');
}

/** A runtime of plain files on this machine: `node` with the repository's bundle and floor. */
function plainRuntime(name: string, node: string, setup: ColdSetup, kubeconfig: string): Runtime {
  const rss = path.join(setup.work, `rss-${name.replace(/\W+/g, '-')}`);
  return {
    name,
    node: (args) => [node, ...args],
    cli: CLI_COMMAND,
    floor: path.join(REPO_ROOT, 'bench/raw-floor.mjs'),
    reporter: path.join(REPO_ROOT, 'bench/report-rss.mjs'),
    rss: { inside: rss, host: rss },
    caFile: setup.caFile,
    env: { KUBECONFIG: kubeconfig, HOME: process.env['HOME'] ?? '/tmp' },
  };
}

/**
 * The released image as a CronJob pod runs it: built by scripts/build-image.sh (amd64), its layers
 * unpacked, its entrypoint run chrooted as its user with its environment and a service account.
 */
async function imageRuntime(setup: ColdSetup): Promise<Runtime> {
  const layout = path.join(setup.work, 'image');
  await runToSuccess('bash', [path.join(REPO_ROOT, 'scripts/build-image.sh'), layout, 'amd64'], {
    env: process.env,
    cwd: REPO_ROOT,
    timeoutMs: 900_000,
  });
  const root = await unpackImage(layout, 'amd64', path.join(setup.work, 'rootfs'));
  const { config } = imageFor(layout, 'amd64').config;
  const account = path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(account, { recursive: true });
  writeFileSync(path.join(account, 'token'), setup.token);
  writeFileSync(path.join(account, 'namespace'), 'metallb-system');
  copyFileSync(setup.caFile, path.join(account, 'ca.crt'));
  mkdirSync(path.join(root, 'bench'), { recursive: true });
  for (const file of ['raw-floor.mjs', 'report-rss.mjs'])
    copyFileSync(path.join(REPO_ROOT, 'bench', file), path.join(root, 'bench', file));
  const [node = '', cli = ''] = config.Entrypoint;
  const chroot = execFileSync('sh', ['-c', 'command -v chroot'], { encoding: 'utf8' }).trim();
  const { hostname, port } = new URL(setup.server);
  return {
    name: 'the image (Node 22, its filesystem and entrypoint)',
    node: (args) => [chroot, `--userspec=${config.User}`, root, node, ...args],
    cli,
    floor: '/bench/raw-floor.mjs',
    reporter: '/bench/report-rss.mjs',
    rss: { inside: '/tmp/rss', host: path.join(root, 'tmp/rss') },
    caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    env: { ...envOf(config), KUBERNETES_SERVICE_HOST: hostname, KUBERNETES_SERVICE_PORT: port },
  };
}

/** The CLI bundled with every module loaded at start (only the SOCKS agent on demand), as before. */
async function eagerBundle(work: string): Promise<string> {
  const outfile = path.join(work, 'eager', 'main.mjs');
  await build({ ...buildOptions('cli'), outfile, plugins: [clientNodeSubset({ loadAtStart: true })] });
  writeFileSync(path.join(work, 'eager', 'package.json'), '{"type":"module"}\n');
  return outfile;
}

/**
 * A V8 startup snapshot of the CLI, built by `node`: its blob, or why Node would not build it (the
 * first line of what it printed).
 */
async function snapshot(node: string, work: string): Promise<{ blob: string } | { refused: string }> {
  const dir = path.join(work, 'snapshot');
  const entry = path.join(dir, 'entry.cjs');
  await build({
    entryPoints: [path.join(REPO_ROOT, 'bench/snapshot-entry.ts')],
    outfile: entry,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    logLevel: 'error',
    plugins: [snapshotSafe(node), ...esbuildPlugins()],
  });
  const blob = path.join(dir, 'cli.blob');
  const built = await runProcess(node, ['--snapshot-blob', blob, '--build-snapshot', entry], {
    env: { PATH: process.env['PATH'] ?? '' },
    cwd: dir,
    timeoutMs: 120_000,
  });
  if (built.code === 0) return { blob };
  // V8 names the check that failed and, above it, the object it could not serialize.
  const output = `${built.stderr}\n${built.stdout}`;
  const check = /^#\s*(\S.*failed)\s*$/m.exec(output)?.[1];
  const object = /not serialized[\s\S]*?#(\w+):/.exec(output)?.[1];
  const first = output.split('\n').find((line) => /\S/.test(line)) ?? '';
  const reason = check === undefined ? first : check;
  return { refused: object === undefined ? reason : `${reason}: ${object} cannot be serialized` };
}

/** On the image's Node: how long a cold no-op takes with each way to start faster, against its floor. */
async function measureStartUp(record: Recorder, setup: ColdSetup, runtime: Runtime, node: string) {
  const env = {
    PATH: process.env['PATH'] ?? '',
    ...setup.settings,
    ...runtime.env,
    METALLB_DYN6_METALLB_POOL: 'noop',
    METALLB_DYN6_SOURCE: `url:${setup.echoUrl}/ip`,
  };
  const uncached = { ...env, NODE_DISABLE_COMPILE_CACHE: '1' };
  const eager = await eagerBundle(setup.work);
  const snap = await snapshot(node, setup.work);
  const variants: [string, string[], Record<string, string>][] = [
    ['every module loaded at start, no compile cache', [node, eager, 'sync'], uncached],
    ['loading on demand, no compile cache', [node, CLI_COMMAND, 'sync'], uncached],
    ['loading on demand + compile cache (shipped)', [node, CLI_COMMAND, 'sync'], env],
  ];
  if ('blob' in snap)
    variants.push([
      'V8 startup snapshot (http, https and hpagent loaded on first use)',
      [node, '--snapshot-blob', snap.blob, 'sync'],
      env,
    ]);
  for (const [, command, variantEnv] of variants) await timedRun(command, variantEnv);
  const floor = [
    node,
    runtime.floor,
    `${setup.echoUrl}/ip`,
    poolUrl(setup, 'noop'),
    runtime.caFile,
    setup.token,
  ];
  const [floorMs = 0, ...times] = await interleaved(setup.runs, [
    () => timedRun(floor, env),
    ...variants.map(
      ([, command, variantEnv]) =>
        () =>
          timedRun(command, variantEnv),
    ),
  ]);
  for (const [i, [what]] of variants.entries())
    record.row(`start-up on Node 22: ${what} / its floor`, times[i] ?? 0, floorMs, 1.2);
  if ('refused' in snap)
    record.figure('start-up on Node 22: V8 startup snapshot of the CLI', `not built: ${snap.refused}`);
}

export async function measureColdStarts(
  record: Recorder,
  setup: ColdSetup,
  kubeconfig: string,
): Promise<void> {
  const nodeOf = (major: string) =>
    path.join(
      execFileSync('bash', [path.join(REPO_ROOT, 'scripts/provision-node.sh'), major], {
        encoding: 'utf8',
      }).trim(),
      'node',
    );
  const node22 = nodeOf('22');
  const on22 = plainRuntime('npm package on Node 22', node22, setup, kubeconfig);
  const runtimes = [
    plainRuntime(`npm package on Node ${process.versions.node}`, process.execPath, setup, kubeconfig),
    on22,
    plainRuntime('npm package on Node 24', nodeOf('24'), setup, kubeconfig),
  ];
  for (const runtime of runtimes) {
    process.stderr.write(`cold processes: ${runtime.name}...\n`);
    await measureRuntime(record, setup, runtime);
  }
  process.stderr.write('cold processes: ways to start faster...\n');
  await measureStartUp(record, setup, on22, node22);
  if (process.getuid?.() !== 0) {
    record.figure('cold rows of the image', 'not run: unpacking and chrooting into the image needs root');
    return;
  }
  process.stderr.write('cold processes: the image...\n');
  await measureRuntime(record, setup, await imageRuntime(setup));
}
