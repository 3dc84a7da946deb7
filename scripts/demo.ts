// npm run demo: the whole job on a local control plane, for someone without a cluster at hand.
// Starts etcd + kube-apiserver + kube-controller-manager, MetalLB's real controller (built from the Go
// module proxy on first use), a pool the Rust tool left behind and two IPv6 LoadBalancer Services,
// then runs the real CLI before and after an ISP prefix change and shows where the Services answer.
import { spawn } from 'node:child_process';
import { CoreV1Api } from '@kubernetes/client-node';
import path from 'node:path';
import { compareVersions, versionOfImage } from '../lib/cluster/metallb-version.js';
import { REPO_ROOT, testKubernetesVersion } from '../test/harness/binaries.js';
import { createLoadBalancers, createPool, readPool } from '../test/harness/metallb-fixture.js';
import { startTestCluster } from '../test/harness/test-cluster.js';

const metallbVersion = process.argv.includes('--metallb')
  ? (process.argv[process.argv.indexOf('--metallb') + 1] ?? '')
  : 'v0.13.12';
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

// MetalLB 0.14 and later need Kubernetes >= 1.21: they get the current control plane.
const parsed = versionOfImage(`metallb/controller:${metallbVersion}`);
const kubernetes =
  parsed !== undefined && compareVersions(parsed, { major: 0, minor: 14, patch: 0 }) >= 0
    ? '1.35'
    : testKubernetesVersion();
say(`starting a local Kubernetes ${kubernetes} control plane with MetalLB ${metallbVersion}`);
const cluster = await startTestCluster({ metallbVersion, realMetalLB: true, kubernetes });
try {
  const namespace = 'metallb-system';
  await createPool(cluster.admin, namespace, 'ipv6-pool', {
    addresses: [
      '192.168.178.240/28',
      '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999',
      'fd00:1234:5678::1000-fd00:1234:5678::1999',
    ],
  });
  const show = async () => {
    const pool = await readPool(cluster.admin, namespace, 'ipv6-pool');
    process.stdout.write(`pool ${namespace}/ipv6-pool: ${JSON.stringify(pool.spec.addresses, null, 2)}\n`);
  };
  const core = cluster.admin.makeApiClient(CoreV1Api);
  await createLoadBalancers(cluster.admin, 'default', ['web', 'mqtt']);
  // MetalLB assigns asynchronously: wait (briefly) until every Service has an address under `prefix`.
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
  const showServices = async (prefix: string) => {
    for (const [name, ip] of await services(prefix))
      process.stdout.write(`  service default/${String(name)}: ${String(ip)}\n`);
  };
  say('the pool as the Rust tool left it (IPv4 and ULA ranges are not ours), and the LoadBalancer Services');
  await show();
  await showServices('2a02:8071:1234:5600:');

  const sync = async (source: string, title: string) => {
    say(title);
    process.stdout.write(
      `$ metallb-dyn6 sync --source ${source} --subnet-override 0:0:0:cd:: --prefix-length 56 --output text\n`,
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
        },
      },
    );
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    process.stdout.write(`(exit code ${String(status)})\n`);
    if (status !== 0) process.exitCode = 1;
  };

  await sync('static:2a02:8071:1234:5678::9', 'first run: adopt the range, move it to subnet cd of the /56');
  await show();
  await showServices('2a02:8071:1234:56cd:');
  await sync('static:2a02:8071:1234:5678::9', 'nothing changed: one pool GET, no write');
  await sync(
    'static:2a02:8071:abcd:ef12::9',
    'the ISP hands out a new prefix (simulated): 2a02:8071:abcd:ef00::/56',
  );
  await show();
  say('where the Services answer now: MetalLB moved them to the new prefix');
  await showServices('2a02:8071:abcd:efcd:');
} finally {
  say('stopping the local control plane');
  await cluster.stop();
}
