// npm run demo: the whole job on a local control plane, for someone without a cluster at hand.
// Starts etcd + kube-apiserver + kube-controller-manager, MetalLB's real controller (built from the Go
// module proxy on first use), a pool the Rust tool left behind and two IPv6 LoadBalancer Services,
// then runs the real CLI before and after an ISP prefix change and shows where the Services answer.
// npm run demo -- --backend cilium: the same story with Cilium's real LB-IPAM operator and a
// CiliumLoadBalancerIPPool instead of MetalLB.
// npm run demo -- --network [--metallb vX]: the same story on a home network in network namespaces
// (root): an ISP delegates, the router announces, the router pushes to metallb-dyn6, MetalLB moves the
// Service and a LAN client's request is answered at the new address.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { compareVersions, versionOfImage } from '../lib/cluster/metallb-version.js';
import { REPO_ROOT, testKubernetesVersion } from '../devcluster/binaries.js';
import { createLoadBalancers, createPool, readPool } from '../devcluster/metallb-fixture.js';
import { startTestCluster, type TestCluster } from '../devcluster/test-cluster.js';
import { CILIUM_RELEASES, startCiliumOperator } from '../devcluster/cilium-operator.js';

const argument = (flag: string) =>
  process.argv.includes(flag) ? (process.argv[process.argv.indexOf(flag) + 1] ?? '') : undefined;
const chosen = argument('--metallb');
const backend = argument('--backend') ?? 'metallb';
if (backend !== 'metallb' && backend !== 'cilium') {
  process.stderr.write(`--backend ${backend}: expected metallb or cilium\n`);
  process.exit(2);
}
/** The last 64 bits of an IPv6 address, as `::1000`. */
const hostPart = (address: string) =>
  ipaddr.IPv6.parse(
    `::${ipaddr.IPv6.parse(address)
      .parts.slice(4)
      .map((p) => p.toString(16))
      .join(':')}`,
  ).toString();
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

/** The renumbering on the home network, step by step (push mode: the router tells metallb-dyn6). */
async function networkDemo(version: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo --network needs root: the home network is made of network namespaces\n');
    process.exitCode = 1;
    return;
  }
  const { startFunction } = await import('../devcluster/home-network/function-modes.js');
  const { DELEGATIONS, installHome, lanOf, removeHome, renumber, startHomeLab, answeredUnder } =
    await import('../devcluster/home-network/home-lab.js');
  const { webAddress } = await import('../devcluster/home-network/web-service.js');
  const out = (text: string) => process.stdout.write(`${text}\n`);
  say(`starting a Kubernetes 1.37 control plane and a home network around its node (MetalLB ${version})`);
  const lab = await startHomeLab('1.37');
  const hook = (at: number) => {
    for (const e of lab.network.router.events().filter((x) => x.at >= at))
      out(
        `  router hook ${new Date(e.at).toISOString().slice(11, 23)}: ${e.event} ${e.prefix} ${e.detail ?? ''}`,
      );
  };
  // The function's answer to the router's POST (the sync's result document), as the hook saved it.
  const pushAnswer = () => {
    const file = path.join(lab.cluster.runDir, 'home-network', 'router', 'push-answer.json');
    if (!existsSync(file)) return out('  push answer: none saved');
    const text = readFileSync(file, 'utf8').trim();
    try {
      const r = JSON.parse(text) as { status?: string; prefix?: string; before?: string[]; after?: string[] };
      out(`  push answer: ${r.status ?? '?'}, prefix ${r.prefix ?? '?'}`);
      if (r.before !== undefined) out(`    pool before: ${JSON.stringify(r.before)}`);
      if (r.after !== undefined) out(`    pool after:  ${JSON.stringify(r.after)}`);
    } catch {
      out(`  push answer: ${text.slice(0, 300)}`);
    }
  };
  try {
    out(
      `  namespaces: isp ${lab.network.isp.ns.name}, router ${lab.network.router.ns.name}, node ${lab.network.node.ns.name}, client ${lab.network.client.name}`,
    );
    say(`the ISP delegates ${DELEGATIONS[0]} to the home router; it announces the first /64 on the LAN`);
    let t = Date.now();
    await lab.network.delegate(DELEGATIONS[0], false, { deprecate: true });
    hook(t);
    say(`MetalLB ${version}, its pool (IPv4 only so far) and the web Service`);
    const home = await installHome(lab, version);
    try {
      const fn = await startFunction({
        mode: 'push',
        keepHostParts: false,
        env: home.env({ METALLB_DYN6_PORT: '8080' }),
        node: lab.network.node.ns,
        dir: path.join(lab.cluster.runDir, 'home-network'),
      });
      try {
        const push = fn.push;
        if (push === undefined) throw new Error('serve gave no push URL');
        say(
          `metallb-dyn6 serve listens on ${push.url}; the router re-delivers ${DELEGATIONS[0]} and pushes it`,
        );
        t = Date.now();
        await lab.network.delegate(DELEGATIONS[0], true, { deprecate: true, push });
        const before = await answeredUnder(lab, home, lanOf(DELEGATIONS[0]), 60_000);
        hook(t);
        pushAnswer();
        out(`  Service ${home.namespace}/web: ${before.address}`);
        out(`  client: curl http://[${before.address}]/ -> ${(await lab.network.get(before.address)).body}`);

        say(`the ISP renumbers: it withdraws ${DELEGATIONS[0]} and hands out ${DELEGATIONS[1]}`);
        t = Date.now();
        const r = await renumber(lab, home, { deprecate: true, push });
        hook(t);
        const pushed = lab.network.router.events().find((e) => e.event === 'pushed' && e.at >= t);
        pushAnswer();
        say("MetalLB moved the Service; the LAN client's requests");
        out(
          `  Service ${home.namespace}/web: ${r.before} -> ${(await webAddress(lab.cluster.admin, home.namespace)) ?? r.after}`,
        );
        out(`  client: curl http://[${r.after}]/ -> ${(await lab.network.get(r.after)).body}`);
        const old = await lab.network.neighbourAnswer(r.before);
        out(
          `  client: who answers for the old ${r.before}? ${old === undefined ? 'no one (no neighbour answer)' : `still ${old}`}`,
        );
        say('times (ms)');
        out(
          `  hook applied ${r.to} -> push answered:                 ${pushed === undefined ? 'n/a' : String(pushed.at - r.delegatedAt)}`,
        );
        out(
          `  hook applied ${r.to} -> first answer at the new address: ${String(r.answeredAt - r.delegatedAt)}`,
        );
        out(
          `  last answer at the old address -> first at the new (unreachable): ${String(r.answeredAt - r.lastAnswerBefore)}`,
        );
      } finally {
        await fn.stop();
      }
    } finally {
      await removeHome(lab, home);
    }
  } finally {
    say('stopping the home network and the control plane');
    await lab.stop();
  }
}

if (process.argv.includes('--network')) {
  await networkDemo(chosen ?? 'v0.14.9');
  process.exit();
}
const metallbVersion = chosen ?? 'v0.13.12';
const POOL_ENTRIES = [
  '192.168.178.240/28',
  '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999',
  'fd00:1234:5678::1000-fd00:1234:5678::1999',
];
const CILIUM_POOLS = { group: 'cilium.io', version: 'v2', plural: 'ciliumloadbalancerippools' } as const;

/** The pool the demo keeps, on the chosen load balancer: how to show it, and what the CLI is told. */
interface DemoPool {
  show(): Promise<void>;
  env: Record<string, string>;
  loadBalancer: string;
}

/** MetalLB's IPAddressPool as the Rust tool left it. */
async function metallbPool(cluster: TestCluster): Promise<DemoPool> {
  const namespace = 'metallb-system';
  await createPool(cluster.admin, namespace, 'ipv6-pool', { addresses: POOL_ENTRIES });
  return {
    async show() {
      const pool = await readPool(cluster.admin, namespace, 'ipv6-pool');
      process.stdout.write(`pool ${namespace}/ipv6-pool: ${JSON.stringify(pool.spec.addresses, null, 2)}\n`);
    },
    env: {},
    loadBalancer: 'MetalLB',
  };
}

/**
 * The IPv4 and our range as a CiliumLoadBalancerIPPool's blocks (cluster-scoped). Without the ULA
 * range: Cilium gives a Service whose address left the pool the lowest free address of any range of
 * the pool, and would renumber the Services into it.
 */
async function ciliumPool(cluster: TestCluster): Promise<DemoPool> {
  const custom = cluster.admin.makeApiClient(CustomObjectsApi);
  const blocks = POOL_ENTRIES.filter((entry) => !entry.startsWith('fd')).map((entry) => {
    const [start, stop] = entry.split('-');
    return stop === undefined ? { cidr: entry } : { start, stop };
  });
  await custom.createClusterCustomObject({
    ...CILIUM_POOLS,
    body: {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: 'ipv6-pool' },
      spec: { blocks },
    },
  });
  return {
    async show() {
      const pool = (await custom.getClusterCustomObject({ ...CILIUM_POOLS, name: 'ipv6-pool' })) as {
        spec: { blocks: unknown[] };
      };
      process.stdout.write(
        `CiliumLoadBalancerIPPool ipv6-pool: ${JSON.stringify(pool.spec.blocks, null, 2)}\n`,
      );
    },
    env: { METALLB_DYN6_BACKEND: 'cilium' },
    loadBalancer: 'Cilium LB-IPAM',
  };
}

// MetalLB 0.14 and later, and Cilium, need Kubernetes >= 1.21: they get the current control plane.
const parsed = versionOfImage(`metallb/controller:${metallbVersion}`);
const kubernetes =
  backend === 'cilium' ||
  (parsed !== undefined && compareVersions(parsed, { major: 0, minor: 14, patch: 0 }) >= 0)
    ? '1.37'
    : testKubernetesVersion();
const ciliumVersion = CILIUM_RELEASES[CILIUM_RELEASES.length - 1] ?? 'v1.20.2';
say(
  `starting a local Kubernetes ${kubernetes} control plane with ${backend === 'cilium' ? `Cilium's operator ${ciliumVersion}` : `MetalLB ${metallbVersion}`}`,
);
const cluster =
  backend === 'cilium'
    ? await startTestCluster({ kubernetes })
    : await startTestCluster({ metallbVersion, realMetalLB: true, kubernetes });
const operator =
  backend === 'cilium'
    ? await startCiliumOperator(ciliumVersion, cluster.admin, cluster.adminKubeconfig, cluster.runDir)
    : undefined;
try {
  const pool = backend === 'cilium' ? await ciliumPool(cluster) : await metallbPool(cluster);
  const show = () => pool.show();
  const core = cluster.admin.makeApiClient(CoreV1Api);
  await createLoadBalancers(cluster.admin, 'default', ['web', 'mqtt']);
  // The load balancer assigns asynchronously: wait (briefly) until every Service has an address under `prefix`.
  const services = async (prefix: string) => {
    for (let i = 0; i < 50; i++) {
      const list = (await core.listNamespacedService({ namespace: 'default' })).items.filter(
        (svc) => svc.spec?.type === 'LoadBalancer',
      );
      const addresses = list.map((svc) => [
        svc.metadata?.name ?? '',
        svc.status?.loadBalancer?.ingress?.map((x) => x.ip).join(', ') ?? '',
      ]);
      if (addresses.every(([, ip]) => ip?.startsWith(prefix))) return addresses;
      await new Promise((r) => setTimeout(r, 200));
    }
    return [['(none)', `no address under ${prefix} within 10 s`]];
  };
  /** Prints where each Service answers and, given where it answered before, whether it kept its host part. */
  const showServices = async (prefix: string, before = new Map<string, string>()) => {
    const now = new Map((await services(prefix)).map(([name, ip]) => [String(name), String(ip)]));
    for (const [name, ip] of now) {
      const was = before.get(name);
      const moved =
        was === undefined || !ipaddr.isValid(was) || !ipaddr.isValid(ip)
          ? ''
          : hostPart(was) === hostPart(ip)
            ? ` (was ${was}: host part ${hostPart(ip)} kept)`
            : ` (was ${was}: host part ${hostPart(was)} became ${hostPart(ip)})`;
      process.stdout.write(`  service default/${name}: ${ip}${moved}\n`);
    }
    return now;
  };
  say('the pool as the Rust tool left it (IPv4 and ULA ranges are not ours), and the LoadBalancer Services');
  await show();
  await showServices('2a02:8071:1234:5600:');

  const sync = async (source: string, title: string, extra: string[] = []) => {
    say(title);
    process.stdout.write(
      `$ metallb-dyn6 sync --source ${source} --subnet-override 0:0:0:cd:: --prefix-length 56 ${[...extra, ''].join(' ')}--output text\n`,
    );
    // Asynchronously: the simulated kubelet in this process must keep running while the CLI waits for it.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'functions/cli/main.ts'),
        'sync',
        '--source',
        source,
        '--subnet-override',
        '0:0:0:cd::',
        '--prefix-length',
        '56',
        ...extra,
        '--output',
        'text',
        '--log-level',
        'warn',
      ],
      {
        cwd: REPO_ROOT,
        stdio: 'inherit',
        env: {
          ...process.env,
          KUBECONFIG: cluster.adminKubeconfig,
          METALLB_DYN6_HOST_RANGE: '::1000-::1999',
          METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
          ...pool.env,
        },
      },
    );
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    process.stdout.write(`(exit code ${String(status)})\n`);
    if (status !== 0) process.exitCode = 1;
  };

  await sync('static:2a02:8071:1234:5678::9', 'first run: adopt the range, move it to subnet cd of the /56');
  await show();
  const first = await showServices('2a02:8071:1234:56cd:');
  await sync('static:2a02:8071:1234:5678::9', 'nothing changed: one pool GET, no write');
  await sync(
    'static:2a02:8071:abcd:ef12::9',
    'the ISP hands out a new prefix (simulated): 2a02:8071:abcd:ef00::/56',
  );
  await show();
  say(
    `where the Services answer now: ${pool.loadBalancer} moved them to the new prefix (which host part each gets is its choice)`,
  );
  const second = await showServices('2a02:8071:abcd:efcd:', first);
  await sync(
    'static:2a02:8071:5555:6612::9',
    'the ISP renumbers again (2a02:8071:5555:6600::/56), now keeping host parts',
    ['--keep-host-parts', 'all'],
  );
  say('each Service answers at its own host part under the new prefix: DNS records need only the new prefix');
  await showServices('2a02:8071:5555:66cd:', second);
} finally {
  say('stopping the local control plane');
  await operator?.stop();
  await cluster.stop();
}
