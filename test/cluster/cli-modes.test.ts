import { describe, expect, it } from '@jest/globals';
import { startControlPlane } from '../harness/control-plane.js';
import { runCli, startCli } from '../support/cli.js';
import { homeCluster, range, SUBNET_NEW } from '../support/sync-fixture.js';

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
});
