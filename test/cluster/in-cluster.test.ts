import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../harness/binaries.js';
import { auditTrail, sharedCluster } from '../harness/shared-cluster.js';
import { runCli } from '../support/cli.js';
import { homeCluster, range, SUBNET_NEW, type HomeCluster } from '../support/sync-fixture.js';

// What a pod gets: a projected service-account volume and the API server's address in the environment.
const SA_MOUNT = '/run/secrets/kubernetes.io/serviceaccount';

// The CLI as it runs in the CronJob: no kubeconfig anywhere, credentials only from the files
// Kubernetes mounts into the pod. A private mount namespace gives this process, and only it, a tmpfs
// /run with the service account's token, CA and namespace at the path client-node reads.
const podLauncher = (serviceAccountDir: string) => [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  `mount -t tmpfs tmpfs /run && mkdir -p ${SA_MOUNT} && mount --bind "$0" ${SA_MOUNT} && exec "$@"`,
  serviceAccountDir,
];

describe('the CLI inside a pod (in-cluster service account)', () => {
  let home: HomeCluster;
  let work: string;

  beforeAll(async () => {
    home = await homeCluster('in-cluster');
    work = path.join(REPO_ROOT, '.run', `in-cluster-${String(process.pid)}`);
    mkdirSync(path.join(work, 'serviceaccount'), { recursive: true });
    mkdirSync(path.join(work, 'home'), { recursive: true });
    writeFileSync(path.join(work, 'serviceaccount/token'), home.token, { mode: 0o600 });
    writeFileSync(path.join(work, 'serviceaccount/ca.crt'), sharedCluster().caPem);
    writeFileSync(path.join(work, 'serviceaccount/namespace'), home.namespace);
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('syncs with the mounted token and nothing else', async () => {
    const { hostname, port } = new URL(sharedCluster().server);
    const env = home.env();
    delete env['KUBECONFIG'];
    const run = await runCli(
      ['sync'],
      {
        ...env,
        // An empty home: no ~/.kube/config to fall back on.
        HOME: path.join(work, 'home'),
        KUBERNETES_SERVICE_HOST: hostname,
        KUBERNETES_SERVICE_PORT: port,
      },
      60_000,
      podLauncher(path.join(work, 'serviceaccount')),
    );
    expect(run.stderr).not.toMatch(/no Kubernetes cluster configured/);
    expect([run.code, run.result?.status]).toEqual([0, 'updated']);
    expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
    // The requests were made as the service account whose token was mounted.
    expect(await auditTrail(home.username)).toContain('patch ipaddresspools 200');
  });
});
