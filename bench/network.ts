// npm run bench -- --network [--quick]: how long a home network's LoadBalancer Service is unreachable
// when the ISP renumbers, per way of running metallb-dyn6 (push, interface, scheduled) and per MetalLB
// release, on the home lab in network namespaces (devcluster/home-network). Needs root and the
// Go-built binaries. The baseline in the same run is each mode's target; for MetalLB, the time from
// the Service's move to the first answer (the speaker's re-announcement, with kube-proxy) is shown
// beside it. Prints, does not assert.
import path from 'node:path';
import { compareVersions, SELF_RELOADING, versionOfImage } from '../lib/cluster/metallb-version.js';
import type { KubernetesVersion } from '../devcluster/binaries.js';
import { INTERVAL_S, MODES, startFunction, type Mode } from '../devcluster/home-network/function-modes.js';
import {
  DELEGATIONS,
  installHome,
  lanOf,
  removeHome,
  renumber,
  startHomeLab,
  type HomeLab,
} from '../devcluster/home-network/home-lab.js';
import { webAddress } from '../devcluster/home-network/web-service.js';
import type { HomeCluster } from '../devcluster/home-cluster.js';

const PLANE: KubernetesVersion = '1.37';
const RELEASES = ['v0.13.12', 'v0.14.9', 'v0.15.3'];

/** The most a renumbering may take from the router's hook to the first answer, per mode. */
export const TARGET_MS: Record<Mode, number> = {
  push: 2000,
  interface: INTERVAL_S * 1000 + 2000,
  scheduled: INTERVAL_S * 1000 + 2000,
};

const selfReloading = (version: string) => {
  const parsed = versionOfImage(`metallb/controller:${version}`);
  return parsed !== undefined && compareVersions(parsed, SELF_RELOADING) >= 0;
};

/** Both the client and the Service's status are polled this often: shorter spans are not resolved. */
const POLL_MS = 100;
const resolved = (ms: number) => ms >= POLL_MS;

const listFrom = (value: string | undefined) =>
  value === undefined || value === '' ? undefined : value.split(',').map((x) => x.trim());

interface Row {
  mode: string;
  metallb: string;
  answered: string;
  unreachable: string;
  target: string;
  ratio: string;
  reannounce: string;
  vsReannounce: string;
}

/** One renumbering with the function running in `mode`; the Service's move timed alongside. */
async function measure(lab: HomeLab, home: HomeCluster, version: string, mode: Mode): Promise<Row> {
  const fn = await startFunction({
    mode,
    keepHostParts: false,
    env: home.env({ METALLB_DYN6_PORT: '8080' }),
    node: lab.network.node.ns,
    dir: path.join(lab.cluster.runDir, 'home-network'),
  });
  const watch: { stop: boolean } = { stop: false };
  let watching: Promise<void> = Promise.resolve();
  try {
    const current = lab.network.router.current();
    if (current === undefined) throw new Error('the router has no delegation');
    // serve only acts when told: the router re-delivers the current delegation with push set.
    if (fn.push !== undefined) await lab.network.delegate(current, true, { deprecate: true, push: fn.push });
    const to = DELEGATIONS.find((d) => d !== current) ?? DELEGATIONS[0];
    const moved: { at?: number } = {};
    watching = (async () => {
      while (!watch.stop && moved.at === undefined) {
        const address = await webAddress(lab.cluster.admin, home.namespace).catch(() => undefined);
        if (address?.startsWith(lanOf(to)) === true) moved.at = Date.now();
        else await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const r = await renumber(lab, home, {
      deprecate: true,
      ...(fn.push === undefined ? {} : { push: fn.push }),
    });
    watch.stop = true;
    await watching;
    const answered = r.answeredAt - r.delegatedAt;
    const unreachable = r.answeredAt - r.lastAnswerBefore;
    const target = TARGET_MS[mode];
    const reannounce = moved.at === undefined ? undefined : r.answeredAt - moved.at;
    const reloads = selfReloading(version);
    return {
      mode,
      metallb: version,
      answered: `${String(answered)} ms`,
      unreachable: `${String(unreachable)} ms`,
      target: `${String(target)} ms`,
      ratio: `${(answered / target).toFixed(2)}x ${answered <= target ? 'met' : 'MISSED'}`,
      reannounce:
        reannounce === undefined
          ? 'not seen'
          : `${resolved(reannounce) ? `${String(reannounce)} ms` : `< ${String(POLL_MS)} ms`}${reloads ? '' : ' (pods cycled)'}`,
      // A ratio to a time below the polling resolution would be noise, not a measurement.
      vsReannounce:
        reloads && reannounce !== undefined && resolved(reannounce)
          ? `${(unreachable / reannounce).toFixed(1)}x`
          : '-',
    };
  } finally {
    watch.stop = true;
    await watching;
    await fn.stop();
  }
}

export async function networkBench(quick: boolean): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench --network needs root: the home network is made of network namespaces\n');
    process.exitCode = 1;
    return;
  }
  // --quick: one release (METALLB_VERSION, else v0.14.9); METALLB_DYN6_BENCH_RELEASES and
  // METALLB_DYN6_BENCH_MODES (comma-separated) choose exactly.
  const releases =
    listFrom(process.env['METALLB_DYN6_BENCH_RELEASES']) ??
    (quick ? [process.env['METALLB_VERSION'] ?? 'v0.14.9'] : RELEASES);
  const modes = (listFrom(process.env['METALLB_DYN6_BENCH_MODES']) ?? MODES) as Mode[];
  const rows: Row[] = [];
  const started = Date.now();
  process.stderr.write(`starting the home lab (Kubernetes ${PLANE})...\n`);
  const lab = await startHomeLab(PLANE);
  try {
    await lab.network.delegate(DELEGATIONS[0], false, { deprecate: true });
    for (const version of releases) {
      process.stderr.write(`installing MetalLB ${version}...\n`);
      const home = await installHome(lab, version);
      try {
        for (const mode of modes) {
          process.stderr.write(`renumbering: ${mode} mode, MetalLB ${version}...\n`);
          try {
            rows.push(await measure(lab, home, version, mode));
          } catch (error) {
            const failed = `failed: ${(error as Error).message.slice(0, 120)}`;
            rows.push({
              mode,
              metallb: version,
              answered: failed,
              unreachable: '',
              target: `${String(TARGET_MS[mode])} ms`,
              ratio: '',
              reannounce: '',
              vsReannounce: '',
            });
            process.exitCode = 1;
          }
        }
      } finally {
        await removeHome(lab, home);
      }
    }
  } finally {
    await lab.stop();
  }

  const header: Row = {
    mode: 'mode',
    metallb: 'MetalLB',
    answered: 'delegation → first answer at the new address',
    unreachable: 'unreachable',
    target: 'target',
    ratio: 'ratio (answer/target)',
    reannounce: 'Service moved → answered (speaker)',
    vsReannounce: 'unreachable/speaker',
  };
  const keys = Object.keys(header) as (keyof Row)[];
  const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
  const line = (r: Row) => keys.map((k, i) => r[k].padEnd(widths[i] ?? 0)).join(' | ');
  process.stdout.write(
    `\nmetallb-dyn6 home-network benchmark (Kubernetes ${PLANE}, one renumbering each, ${String(
      Math.round((Date.now() - started) / 1000),
    )} s in all)\n`,
  );
  process.stdout.write(`${line(header)}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  process.stdout.write(
    `targets: push ${String(TARGET_MS.push)} ms; interface and scheduled ${String(INTERVAL_S)} s interval + 2000 ms. ` +
      "unreachable: the client's last answer at the old address to its first at the new one. " +
      "speaker: the Service's new address in its status to the first answer there (MetalLB's part; both polled every 100 ms, so ±100 ms).\n",
  );
}
