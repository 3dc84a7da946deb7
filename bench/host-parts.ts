// Stable host numbering at scale: planning 10,000 LoadBalancer Services (pure, against its floor and
// against a tenth of the Services, for linearity), the one LIST of 10,000 Services against a raw
// GET, and a whole prefix change that keeps the host parts of 2,000 of them.
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import ipaddr from 'ipaddr.js';
import pLimit from 'p-limit';
import { ApiClients } from '../lib/cluster/api-clients.js';
import { ApiRequests, requestLimits } from '../lib/cluster/api-requests.js';
import { KubeServiceResource } from '../lib/cluster/service-resource.js';
import { planHostParts, PIN_ANNOTATION, type LoadBalancerService } from '../lib/plan/host-parts.js';
import { parsePoolEntry, type PoolEntry } from '../lib/plan/pool-entry.js';
import { parseIPv6 } from '../lib/prefix/ipv6.js';
import { createPool } from '../devcluster/metallb-fixture.js';
import type { TestCluster } from '../devcluster/test-cluster.js';
import { runToSuccess } from '../devcluster/run-process.js';
import { metallbPinning } from '../lib/cluster/metallb.js';

const OLD = '2a02:8071:1234:5a00';
const NEW = '2a02:8071:1234:5acd';
const owned = (subnet: string) => `${subnet}::1000-${subnet}::ffff`;
const entry = (text: string): PoolEntry => {
  const parsed = parsePoolEntry(text);
  if (parsed === undefined) throw new Error(text);
  return parsed;
};
const hex = (i: number) => (0x1000 + i).toString(16);

export interface Recorder {
  row(what: string, ours: number, baseline: number, target: number, unit?: 'ms' | 'MB'): void;
  figure(what: string, ours: string, target?: string): void;
  median(xs: number[]): number;
}

/**
 * Each work's times, the works taking turns run after run (as bench/run.ts's rows do), after three
 * untimed calls of each: timed one block after the other, the first block also paid for the JIT's
 * tiering and the heap's growth, and a ratio of two blocks moved with the order they ran in.
 */
function timedInTurns(runs: number, works: (() => unknown)[]): number[][] {
  for (let i = 0; i < 3; i++) for (const work of works) work();
  const times = works.map((): number[] => []);
  for (let i = 0; i < runs; i++)
    for (const [j, work] of works.entries()) {
      // Each run starts from a collected heap, as a sync's one plan does (`npm run bench` exposes gc).
      globalThis.gc?.();
      const t = performance.now();
      work();
      times[j]?.push(performance.now() - t);
    }
  return times;
}

/** Pure planning of `count` Services, each at a different host part of our old range. */
export function measurePlanning(record: Recorder, runs: number): void {
  const subnet = parseIPv6(`${NEW}::`);
  if (subnet === undefined) throw new Error('subnet');
  const input = {
    mode: 'all' as const,
    from: [entry(owned(OLD))],
    subnet,
    into: [entry(owned(NEW))],
    pinning: metallbPinning(PIN_ANNOTATION),
  };
  const services = (count: number): LoadBalancerService[] =>
    Array.from({ length: count }, (_, i) => ({
      namespace: `ns${String(i % 50)}`,
      name: `svc${String(i)}`,
      resourceVersion: String(i),
      // Every fifth pinned by a person, the rest numbered by MetalLB.
      annotations: i % 5 === 0 ? { [PIN_ANNOTATION]: `${OLD}::${hex(i)}` } : {},
      ingress: [`${OLD}::${hex(i)}`],
    }));
  const tenThousand = services(10_000);
  const thousand = services(1_000);
  const planned = planHostParts(tenThousand, input).moves.length;
  if (planned !== 10_000) throw new Error(`planned ${String(planned)} moves for 10,000 Services`);
  // Ten plans of 1,000 timed together: a single one rarely meets a garbage collection, so the median of
  // single plans would leave out the collections that planning 1,000 Services does cause.
  const [ourTimes = [], tenthTimes = [], floorTimes = []] = timedInTurns(runs, [
    () => planHostParts(tenThousand, input),
    () => {
      for (let i = 0; i < 10; i++) planHostParts(thousand, input);
    },
    // The floor: reading each Service's address once with ipaddr.js, and nothing else.
    () => tenThousand.map((s) => ipaddr.parse(s.ingress[0] ?? '').toByteArray()),
  ]);
  const ours = record.median(ourTimes);
  const tenth = record.median(tenthTimes) / 10;
  const floor = record.median(floorTimes);
  record.row('plan host parts of 10,000 Services (pure) / parse their 10,000 addresses', ours, floor, 5);
  record.row('plan host parts of 10,000 Services / of 1,000 (linear: 10x)', ours, tenth, 11);
  record.figure('planning cost per Service', `${((ours / 10_000) * 1000).toFixed(2)} µs`);
  // 1,000 Services' plan fits a core's cache (1–2 MB of L2 on the machines measured), 10,000's does not: the
  // same ratio one size up, where neither fits, shows whether the rest is the algorithm or the memory.
  const hundredThousand = services(100_000);
  const [largestTimes = [], tenThousandTimes = []] = timedInTurns(Math.min(runs, 5), [
    () => planHostParts(hundredThousand, input),
    () => planHostParts(tenThousand, input),
  ]);
  const largest = record.median(largestTimes);
  record.figure(
    'plan host parts of 100,000 Services / of 10,000 (linear: 10x)',
    `${(largest / record.median(tenThousandTimes)).toFixed(1)}x (${largest.toFixed(0)} ms)`,
  );
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * 10,000 Services in the bench's control plane (2,000 LoadBalancer ones at host parts of the old
 * range, the rest ClusterIP), then: our LIST against a raw GET, and one prefix change keeping them.
 */
export async function measureOnCluster(
  record: Recorder,
  cluster: TestCluster,
  cli: string,
  env: NodeJS.ProcessEnv,
  runs: number,
  loadBalancers: number,
  caPem: Buffer,
): Promise<void> {
  const core = cluster.admin.makeApiClient(CoreV1Api);
  const namespace = 'bench-services';
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: 10_000 }, (_, i) =>
      limit(async () => {
        const name = `svc${String(i)}`;
        const lb = i < loadBalancers;
        await core.createNamespacedService({
          namespace,
          body: {
            metadata: { name },
            spec: {
              type: lb ? 'LoadBalancer' : 'ClusterIP',
              ipFamilyPolicy: 'SingleStack',
              ipFamilies: ['IPv6'],
              ports: [{ port: 443, protocol: 'TCP' }],
            },
          },
        });
        if (!lb) return;
        await core.patchNamespacedServiceStatus(
          { namespace, name, body: { status: { loadBalancer: { ingress: [{ ip: `${OLD}::${hex(i)}` }] } } } },
          mergePatch,
        );
      }),
    ),
  );

  const counter = new ApiRequests(requestLimits(60_000, new AbortController().signal));
  const services = new KubeServiceResource(new ApiClients(cluster.admin), counter);
  const agent = new https.Agent({ keepAlive: true, ca: caPem });
  const rawList = () =>
    new Promise<unknown>((resolve, reject) => {
      const req = https.get(
        `${cluster.server}/api/v1/services`,
        { agent, headers: { authorization: `Bearer ${cluster.adminToken}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          });
        },
      );
      req.on('error', reject);
    });
  const listed = (await services.list()).length;
  if (listed < loadBalancers) throw new Error(`listed ${String(listed)} LoadBalancer Services`);
  const times = { ours: [] as number[], raw: [] as number[] };
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await services.list();
    times.ours.push(performance.now() - t);
    t = performance.now();
    await rawList();
    times.raw.push(performance.now() - t);
  }
  record.row(
    'LIST 10,000 Services and keep the LoadBalancer ones (client-node) / raw GET + JSON.parse',
    record.median(times.ours),
    record.median(times.raw),
    3,
  );

  await createPool(
    cluster.admin,
    'metallb-system',
    'keep',
    { addresses: [owned(OLD)] },
    {
      'metallb-dyn6/owned-addresses': JSON.stringify([owned(OLD)]),
    },
  );
  const { stdout } = await runToSuccess(process.execPath, [cli, 'sync'], {
    env: {
      ...env,
      METALLB_DYN6_METALLB_POOL: 'keep',
      METALLB_DYN6_HOST_RANGE: '::1000-::ffff',
      METALLB_DYN6_SOURCE: `static:${NEW}::9`,
      METALLB_DYN6_KEEP_HOST_PARTS: 'all',
    },
  });
  const result = JSON.parse(stdout) as {
    status: string;
    durationMs: number;
    apiRequests: number;
    services?: { changed: unknown[] };
  };
  const kept = result.services?.changed.length ?? 0;
  if (result.status !== 'updated' || kept !== loadBalancers)
    throw new Error(`the keeping sync ended ${result.status} with ${String(kept)} Services moved`);
  record.figure(
    `prefix change keeping ${String(loadBalancers)} Services (1 LIST of 10,000, ${String(kept)} patches, 8 at a time; ${String(result.apiRequests)} API requests)`,
    `${(result.durationMs / 1000).toFixed(1)} s`,
  );
}
