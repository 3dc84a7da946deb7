// npm run demo: the whole job on a local control plane, for someone without a cluster at hand.
// Starts etcd + kube-apiserver + kube-controller-manager, installs MetalLB's CRD and pods and a pool
// the Rust tool left behind, then runs the real CLI twice: before and after an ISP prefix change.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../test/harness/binaries.js';
import { createPool, readPool } from '../test/harness/metallb-fixture.js';
import { startTestCluster } from '../test/harness/test-cluster.js';

const metallbVersion = process.argv.includes('--metallb')
  ? (process.argv[process.argv.indexOf('--metallb') + 1] ?? '')
  : 'v0.13.12';
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

say(`starting a local control plane with MetalLB ${metallbVersion}`);
const cluster = await startTestCluster({ metallbVersion });
try {
  const namespace = 'metallb-system';
  await createPool(cluster.admin, namespace, 'ipv6-pool', {
    addresses: [
      '192.168.178.240/28',
      'fd00:1234:5678::1000-fd00:1234:5678::1999',
      '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999',
    ],
  });
  const show = async () => {
    const pool = await readPool(cluster.admin, namespace, 'ipv6-pool');
    process.stdout.write(`pool ${namespace}/ipv6-pool: ${JSON.stringify(pool.spec.addresses, null, 2)}\n`);
  };
  say('the pool as the Rust tool left it (IPv4 and ULA ranges are not ours)');
  await show();

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
  await sync('static:2a02:8071:1234:5678::9', 'nothing changed: one pool GET, no write');
  await sync(
    'static:2a02:8071:abcd:ef12::9',
    'the ISP hands out a new prefix (simulated): 2a02:8071:abcd:ef00::/56',
  );
  await show();
} finally {
  say('stopping the local control plane');
  await cluster.stop();
}
