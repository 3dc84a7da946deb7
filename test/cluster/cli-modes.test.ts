import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { startControlPlane } from '../../devcluster/control-plane.js';
import { METALLB_SELECTOR } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig, auditSettled, sharedCluster } from '../../devcluster/shared-cluster.js';
import { runCli, startCli } from '../../devcluster/cli.js';
import { brokenKubeconfig, leakedPieces, TEST_SECRET } from '../support/secrets.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD } from '../../devcluster/home-cluster.js';
import { CoreV1Api } from '@kubernetes/client-node';

const core = adminKubeConfig().makeApiClient(CoreV1Api);
const podNames = async (namespace: string) =>
  (await core.listNamespacedPod({ namespace, labelSelector: METALLB_SELECTOR })).items
    .map((p) => p.metadata?.name ?? '')
    .sort();
const logLevels = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { level: string }).level);

describe('CLI modes and environments', () => {
  it('says MetalLB is missing when the cluster does not serve IPAddressPools', async () => {
    const bare = await startControlPlane();
    try {
      const run = await runCli(['sync'], {
        KUBECONFIG: bare.adminKubeconfig,
        METALLB_DYN6_HOST_RANGE: '::1000-::1999',
        METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
        METALLB_DYN6_SOURCE: `static:${SUBNET_NEW}::9`,
      });
      expect(run.code).toBe(1);
      expect(run.result).toMatchObject({
        status: 'failed',
        error:
          'reading IPAddressPool metallb-system/ipv6-pool: the cluster does not serve metallb.io/v1beta1 IPAddressPools; is MetalLB (>= 0.13, CRD mode) installed?',
      });
    } finally {
      await bare.stop();
    }
  });

  it("'run' syncs every interval and stops cleanly between runs on SIGTERM", async () => {
    const home = await homeCluster('run-loop');
    const cli = startCli(['run', '--interval', '1'], home.env());
    const deadline = Date.now() + 20_000;
    while (
      cli
        .output()
        .stdout.trim()
        .split('\n')
        .filter((l) => l !== '').length < 2 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    cli.child.kill('SIGTERM');
    const run = await cli.done;
    expect(run.code).toBe(0);
    const results = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; trigger: string });
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(results.map((r) => r.status).slice(0, 2)).toEqual(['updated', 'unchanged']);
    expect(results.every((r) => r.trigger === 'interval')).toBe(true);
    expect((await home.readPool()).spec.addresses).toContain(range(SUBNET_NEW));
    // No secret ever reaches the logs.
    expect(run.stderr).not.toContain(home.token);
  });

  it('--reload never leaves a MetalLB that needs cycling alone; the pool still moves', async () => {
    const home = await homeCluster('reload-never', { metallbVersion: 'v0.13.12' });
    const before = await podNames(home.namespace);
    const run = await runCli(['sync', '--reload', 'never'], home.env());
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({
      status: 'updated',
      after: ['192.168.178.240/28', range(SUBNET_NEW)],
      reload: { strategy: 'never', action: 'skipped', reason: 'reload strategy is never' },
    });
    expect(await podNames(home.namespace)).toEqual(before);
    expect((await auditSettled(home)).filter((t) => t.includes('pods'))).toEqual([]);
  });

  it('--reload always (from the environment) cycles even a MetalLB that reloads by itself', async () => {
    const home = await homeCluster('reload-always');
    const before = await podNames(home.namespace);
    const run = await runCli(['sync'], home.env({ METALLB_DYN6_RELOAD: 'always' }));
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({
      status: 'updated',
      reload: {
        strategy: 'always',
        action: 'cycled',
        reason: 'reload strategy is always',
        deletedPods: before,
      },
    });
    const after = await podNames(home.namespace);
    expect(after).toHaveLength(before.length);
    expect(after.filter((n) => before.includes(n))).toEqual([]);
  });

  it('--kubeconfig names the credentials, over $KUBECONFIG', async () => {
    const home = await homeCluster('kubeconfig-flag');
    const { KUBECONFIG: path = '', ...rest } = home.env();
    const run = await runCli(['sync', '--kubeconfig', path], rest);
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ status: 'updated' });
    const wrong = await runCli(['sync', '--kubeconfig', '/nonexistent/kubeconfig'], home.env());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^metallb-dyn6: cannot read kubeconfig \/nonexistent\/kubeconfig: /);
    expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
  });

  it('never prints a piece of the token of a kubeconfig it cannot parse, from the flag or $KUBECONFIG', async () => {
    const home = await homeCluster('kubeconfig-secret');
    const broken = path.join(sharedCluster().runDir, `broken-${home.namespace}.yaml`);
    writeFileSync(broken, brokenKubeconfig(TEST_SECRET), { mode: 0o600 });
    const byFlag = await runCli(['sync', '--kubeconfig', broken], home.env());
    const byEnv = await runCli(['sync'], home.env({ KUBECONFIG: broken }));
    expect(byFlag.stderr).toBe(
      `metallb-dyn6: cannot read kubeconfig ${broken}: bad indentation of a mapping entry (7:4)\n`,
    );
    expect(byEnv.stderr).toBe(
      'metallb-dyn6: cannot read the kubeconfig: bad indentation of a mapping entry (7:4)\n',
    );
    expect([byFlag.code, byEnv.code]).toEqual([2, 2]);
    expect(leakedPieces(TEST_SECRET, byFlag.stdout, byFlag.stderr, byEnv.stdout, byEnv.stderr)).toEqual([]);
  });

  it('--log-level sets which log lines reach stderr', async () => {
    const home = await homeCluster('log-level', {
      addresses: ['192.168.178.240/28', range(SUBNET_OLD)],
    });
    const debug = await runCli(['sync', '--log-level', 'debug', '--dry-run'], home.env());
    expect(logLevels(debug.stderr)).toEqual(['debug', 'info']);
    const info = await runCli(['sync', '--dry-run'], home.env());
    expect(logLevels(info.stderr)).toEqual(['info']);
    const quiet = await runCli(['sync', '--dry-run'], home.env({ METALLB_DYN6_LOG_LEVEL: 'warn' }));
    expect(quiet.code).toBe(0);
    expect(logLevels(quiet.stderr)).toEqual([]);
    const failing = await runCli(['sync', '--log-level', 'error', '--pool', 'missing'], home.env());
    expect(failing.code).toBe(1);
    expect(logLevels(failing.stderr)).toEqual(['error']);
  });
});
