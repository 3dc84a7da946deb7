// npm run bench [-- --quick]: measures metallb-dyn6 against the floors it cannot beat, side by side
// in one run, on a local kube-apiserver and an echo server on 127.0.0.1. Prints medians and ratios.
// npm run bench -- --network [--quick]: renumberings on the home network instead (bench/network.ts).
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundle } from '../scripts/bundle.js';
import { packageLambda } from '../scripts/package-lambda.js';
import { REPO_ROOT } from '../devcluster/binaries.js';
import { createPool } from '../devcluster/metallb-fixture.js';
import { startTestCluster } from '../devcluster/test-cluster.js';
import { runToSuccess } from '../devcluster/run-process.js';
// Plain JavaScript, so that the cold floor process runs it without any loader.
import { rawFloor } from './raw-floor.mjs';
import { measureOnCluster, measurePlanning } from './host-parts.js';
import { measureColdStarts } from './cold-start.js';
import { profileCalls, WAITING } from './warm-profile.js';

const quick = process.argv.includes('--quick');
if (process.argv.includes('--network')) {
  const { networkBench } = await import('./network.js');
  await networkBench(quick);
  process.exit();
}
const WARM_RUNS = quick ? 10 : 60;
const COLD_RUNS = quick ? 3 : 15;
const TOKEN = 'bench-token-0123456789abcdef';
const PREFIXES = ['2a02:8071:1234:5678', '2a02:8071:4321:8765'];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

/**
 * Takes turns: one run of each measurement per round, so that load on the machine drifting during the
 * benchmark falls on ours and its baseline alike. Returns each measurement's durations.
 */
async function interleaved(runs: number, measures: (() => Promise<number>)[]): Promise<number[][]> {
  const times = measures.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [j, measure] of measures.entries()) times[j]?.push(await measure());
  }
  return times;
}

/** A warm measurement: one call, after a first call that opens connections and warms the JIT. */
async function warm(once: () => Promise<unknown>): Promise<() => Promise<number>> {
  await once();
  return async () => {
    const t = performance.now();
    await once();
    return performance.now() - t;
  };
}

const rows: { what: string; ours: string; baseline: string; ratio: string; target: string }[] = [];

/** A row with no baseline: a figure and, where there is one, its limit. */
function figure(what: string, ours: string, target = '') {
  rows.push({ what, ours, baseline: '', ratio: '', target });
}
const within = (value: number, max: number, unit: string) =>
  `<= ${String(max)} ${unit} ${value <= max ? 'met' : 'MISSED'}`;
const UNITS = { ms, MB: (x: number) => `${x.toFixed(1)} MB` };
function row(what: string, ours: number, baseline: number, target: number, unit: keyof typeof UNITS = 'ms') {
  const ratio = ours / baseline;
  rows.push({
    what,
    ours: UNITS[unit](ours),
    baseline: UNITS[unit](baseline),
    ratio: `${ratio.toFixed(2)}x`,
    target: `<= ${String(target)}x ${ratio <= target ? 'met' : 'MISSED'}`,
  });
}

const work = path.join(REPO_ROOT, '.run', 'bench');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

process.stderr.write('bundling and packaging...\n');
const cli = await bundle('cli');
const knative = await bundle('knative');
packageLambda(path.join(work, 'lambda'));

process.stderr.write('starting the control plane and the echo server...\n');
const cluster = await startTestCluster({ metallbVersion: 'v0.14.9' });
// /flip and /flip-floor answer the other prefix each call, each for one caller (ours, the floor).
const flips = new Map<string, number>();
const echo = http.createServer((req, res) => {
  const flip = req.url?.startsWith('/flip') === true ? (flips.get(req.url) ?? 0) : 0;
  if (req.url?.startsWith('/flip') === true) flips.set(req.url, flip + 1);
  res.end(`${PREFIXES[flip % 2] ?? ''}::9\n`);
});
await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
const echoUrl = `http://127.0.0.1:${String((echo.address() as AddressInfo).port)}`;
const owned = `${PREFIXES[0] ?? ''}::1000-${PREFIXES[0] ?? ''}::1999`;
await createPool(
  cluster.admin,
  'metallb-system',
  'noop',
  { addresses: ['192.168.178.240/28', owned] },
  { 'metallb-dyn6/owned-addresses': JSON.stringify([owned]) },
);
for (const name of ['change', 'change-floor'])
  await createPool(
    cluster.admin,
    'metallb-system',
    name,
    { addresses: ['192.168.178.240/28', owned] },
    { 'metallb-dyn6/owned-addresses': JSON.stringify([owned]) },
  );
const poolUrl = (name: string) =>
  `${cluster.server}/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/${name}`;

/** The sync's settings in every measurement, less the pool and the source. */
const SETTINGS = {
  METALLB_DYN6_HOST_RANGE: '::1000-::1999',
  METALLB_DYN6_METALLB_NAMESPACE: 'metallb-system',
  METALLB_DYN6_RELOAD: 'never',
  METALLB_DYN6_LOG_LEVEL: 'warn',
  METALLB_DYN6_HTTP_TOKEN: TOKEN,
};
const baseEnv = {
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '/tmp',
  KUBECONFIG: cluster.adminKubeconfig,
  ...SETTINGS,
};

try {
  type Handle = (
    context: unknown,
    body: unknown,
  ) => Promise<{ statusCode: number; body: { status: string; apiRequests: number } }>;
  const loadHandler = async (pool: string, source: string): Promise<Handle> => {
    Object.assign(process.env, baseEnv, { METALLB_DYN6_METALLB_POOL: pool, METALLB_DYN6_SOURCE: source });
    // A module instance per configuration, as a function container would have.
    return ((await import(`${knative}?${pool}`)) as { handle: Handle }).handle;
  };
  const post = { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } };
  const caPem = readFileSync(path.join(cluster.runDir, 'ca.crt'));

  process.stderr.write('warm no-op...\n');
  const noop = await loadHandler('noop', `url:${echoUrl}/ip`);
  const warmStatus = await noop(post, {});
  const [warmOurs = [], warmRaw = []] = await interleaved(WARM_RUNS, [
    await warm(() => noop(post, {})),
    await warm(
      rawFloor({ echoUrl: `${echoUrl}/ip`, poolUrl: poolUrl('noop'), caPem, token: cluster.adminToken }),
    ),
  ]);
  row(
    `warm no-op sync, Knative handler (${warmStatus.body.status}, ${String(warmStatus.body.apiRequests)} API request) / raw 2 round trips`,
    median(warmOurs),
    median(warmRaw),
    1.3,
  );

  process.stderr.write('warm no-op, profiled...\n');
  const floorOnce = rawFloor({
    echoUrl: `${echoUrl}/ip`,
    poolUrl: poolUrl('noop'),
    caPem,
    token: cluster.adminToken,
  });
  const profiled = quick ? 200 : 1_000;
  const report = (who: string, spent: [string, number][]) => {
    const busy = spent.filter(([where]) => where !== WAITING).reduce((sum, [, t]) => sum + t, 0);
    figure(
      `warm no-op, ${who}: CPU per call (profile of ${String(profiled)} calls)`,
      `${busy.toFixed(2)} ms`,
    );
    for (const [where, t] of spent.slice(0, 8)) figure(`  ${where}`, `${t.toFixed(3)} ms`);
  };
  report('ours', await profileCalls(() => noop(post, {}), profiled));
  await floorOnce();
  report('floor', await profileCalls(floorOnce, profiled));

  process.stderr.write('warm prefix change...\n');
  const change = await loadHandler('change', `url:${echoUrl}/flip`);
  // The first run finds the pool right; from the second on, every run is a change.
  await change(post, {});
  const changeStatus = await change(post, {});
  const [changeOurs = [], changeRaw = []] = await interleaved(WARM_RUNS, [
    await warm(() => change(post, {})),
    await warm(
      rawFloor({
        echoUrl: `${echoUrl}/flip-floor`,
        poolUrl: poolUrl('change-floor'),
        caPem,
        token: cluster.adminToken,
        patch: true,
      }),
    ),
  ]);
  row(
    `prefix-change sync, reload never (${changeStatus.body.status}, ${String(changeStatus.body.apiRequests)} API requests) / raw 3 round trips`,
    median(changeOurs),
    median(changeRaw),
    1.3,
  );

  await measureColdStarts(
    { row, figure, median },
    {
      runs: COLD_RUNS,
      echoUrl,
      server: cluster.server,
      caFile: path.join(cluster.runDir, 'ca.crt'),
      token: cluster.adminToken,
      settings: SETTINGS,
      work,
    },
    cluster.adminKubeconfig,
  );

  process.stderr.write('host parts of 10,000 Services...\n');
  const recorder = { row, figure, median };
  measurePlanning(recorder, quick ? 5 : 30);
  await measureOnCluster(recorder, cluster, cli, baseEnv, quick ? 3 : 10, quick ? 500 : 2_000, caPem);

  process.stderr.write('Lambda artifact...\n');
  const zipBytes = statSync(path.join(work, 'lambda', 'sync.zip')).size;
  const handler = path.join(work, 'lambda', 'sync', 'functions/lambda/handler.mjs');
  const importScript = `const t = performance.now(); await import(${JSON.stringify(handler)}); process.stdout.write(String(performance.now() - t));`;
  const lambdaEnv = {
    ...baseEnv,
    METALLB_DYN6_METALLB_POOL: 'noop',
    METALLB_DYN6_SOURCE: 'my-ip',
    METALLB_DYN6_LOG_LEVEL: 'error',
  };
  const importTimes: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const { stdout } = await runToSuccess(process.execPath, ['--input-type=module', '-e', importScript], {
      env: lambdaEnv,
    });
    importTimes.push(Number(stdout));
  }
  figure(
    'Lambda artifact (zipped)',
    `${(zipBytes / 1024).toFixed(0)} KB`,
    within(zipBytes / 1024, 300, 'KB'),
  );
  figure('Lambda bundle import time (cold process)', ms(median(importTimes)));
} finally {
  echo.close();
  await cluster.stop();
}

const widths = (['what', 'ours', 'baseline', 'ratio', 'target'] as const).map((k) =>
  Math.max(k.length, ...rows.map((r) => r[k].length)),
);
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
process.stdout.write(
  `\nmetallb-dyn6 benchmark (${quick ? 'quick' : 'full'}: ${String(WARM_RUNS)} warm, ${String(COLD_RUNS)} cold runs; medians)\n`,
);
process.stdout.write(`${line(['what', 'ours', 'baseline', 'ratio', 'target'])}\n`);
for (const r of rows) process.stdout.write(`${line([r.what, r.ours, r.baseline, r.ratio, r.target])}\n`);
