import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../devcluster/binaries.js';
import { auditTrail } from '../../devcluster/shared-cluster.js';
import { runCli } from '../../devcluster/cli.js';
import { podEnv, SERVICE_ACCOUNT_MOUNT, writeServiceAccountFiles } from '../support/pod-credentials.js';
import { homeCluster, range, SUBNET_NEW, type HomeCluster } from '../../devcluster/home-cluster.js';

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
  `mount -t tmpfs tmpfs /run && mkdir -p ${SERVICE_ACCOUNT_MOUNT} && mount --bind "$0" ${SERVICE_ACCOUNT_MOUNT} && exec "$@"`,
  serviceAccountDir,
];

describe('the CLI inside a pod (in-cluster service account)', () => {
  let home: HomeCluster;
  let work: string;

  beforeAll(async () => {
    home = await homeCluster('in-cluster');
    work = path.join(REPO_ROOT, '.run', `in-cluster-${String(process.pid)}`);
    writeServiceAccountFiles(path.join(work, 'serviceaccount'), home);
    mkdirSync(path.join(work, 'home'), { recursive: true });
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('syncs with the mounted token and nothing else', async () => {
    const run = await runCli(
      ['sync'],
      podEnv(home, path.join(work, 'home')),
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
