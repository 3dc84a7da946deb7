// The image's long-lived modes as their platforms run them, on the real apiserver: `serve` (the HTTP
// function of Knative and OpenFaaS, with no platform runtime around it) and `run`'s probes and metrics.
import { createServer } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { startCli, type CliProcess } from '../../devcluster/cli.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD } from '../../devcluster/home-cluster.js';

const TOKEN = 'serve-test-token-0123456789';

/** The port the process logged it listens on (it was given port 0). */
async function listeningPort(cli: CliProcess): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const line = cli
      .output()
      .stderr.split('\n')
      .find((l) => l.includes('"msg":"listening"'));
    if (line !== undefined) return (JSON.parse(line) as { port: number }).port;
    if (cli.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never listened: ${cli.output().stderr}`);
}

/** One sample of the exposition, e.g. `metallb_dyn6_pool_writes_total`. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('serve: the HTTP function the image runs on Knative and OpenFaaS', () => {
  it('syncs on an authenticated push sent as curl sends it, ticks on a PingSource event, refuses strangers, and counts it all', async () => {
    const home = await homeCluster('serve');
    const cli = startCli(['serve'], home.env({ METALLB_DYN6_HTTP_TOKEN: TOKEN }), 60_000);
    const base = `http://127.0.0.1:${String(await listeningPort(cli))}`;
    try {
      expect((await fetch(`${base}/health/readiness`)).status).toBe(200);
      expect((await fetch(`${base}/_/health`)).status).toBe(200);

      // A router's hook: `curl -d '{"prefix":…}'` sends curl's form type.
      const push = (authorization?: string) =>
        fetch(`${base}/`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(authorization === undefined ? {} : { authorization }),
          },
          body: JSON.stringify({ prefix: `${SUBNET_OLD}::/64` }),
        });
      const stranger = await push();
      expect(stranger.status).toBe(401);
      expect(await stranger.json()).toEqual({ error: 'missing or invalid bearer token' });
      expect((await push('Bearer not-the-token-at-all')).status).toBe(401);

      // The pool starts on SUBNET_OLD, not yet ours: the push adopts it where it is; the source's prefix is new.
      const pushed = await push(`Bearer ${TOKEN}`);
      expect(pushed.status).toBe(200);
      expect(await pushed.json()).toMatchObject({
        status: 'updated',
        trigger: 'http-push',
        prefix: `${SUBNET_OLD}::/64`,
      });

      const tick = await fetch(`${base}/`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-type': 'dev.knative.sources.ping',
          'ce-id': '1',
          'ce-source': 'test',
        },
        body: '{}',
      });
      expect(tick.status).toBe(200);
      expect(await tick.json()).toMatchObject({
        status: 'updated',
        trigger: 'schedule',
        prefix: `${SUBNET_NEW}::/64`,
      });
      expect((await home.readPool()).spec.addresses).toContain(range(SUBNET_NEW));
      // A second tick inside the minimum interval (30 s by default) is turned away.
      const again = await fetch(`${base}/`, { method: 'POST', headers: { 'x-connector': 'cron-connector' } });
      expect(again.status).toBe(429);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(sample(metrics, 'metallb_dyn6_runs_total{status="updated",stage=""}')).toBe(2);
      expect(sample(metrics, 'metallb_dyn6_pool_writes_total')).toBe(2);
      expect(sample(metrics, `metallb_dyn6_prefix_info{prefix="${SUBNET_NEW}::/64"}`)).toBe(1);
      expect(sample(metrics, 'metallb_dyn6_last_success_timestamp_seconds')).toBeGreaterThan(
        Date.now() / 1000 - 120,
      );
      expect(metrics).toContain('metallb_dyn6_process_resident_memory_bytes');
      expect(metrics).not.toContain(TOKEN);
    } finally {
      cli.child.kill('SIGTERM');
    }
    const run = await cli.done;
    expect(run.code).toBe(0);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
  });

  it('refuses to start with a bad configuration, naming the setting', async () => {
    const home = await homeCluster('serve-bad');
    const run = await startCli(
      ['serve'],
      home.env({ METALLB_DYN6_HTTP_TOKEN: TOKEN, METALLB_DYN6_HOST_RANGE: '::1999-::1000' }),
    ).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/METALLB_DYN6_HOST_RANGE/);
    expect(run.stderr).not.toContain('"msg":"listening"');
  });

  it('is chosen by METALLB_DYN6_COMMAND when no command is given (OpenFaaS passes no arguments)', async () => {
    const home = await homeCluster('serve-env');
    const cli = startCli([], home.env({ METALLB_DYN6_HTTP_TOKEN: TOKEN, METALLB_DYN6_COMMAND: 'serve' }));
    const port = await listeningPort(cli);
    expect((await fetch(`http://127.0.0.1:${String(port)}/_/ready`)).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect((await cli.done).code).toBe(0);
  });

  it('says so and exits 2 when its port is taken', async () => {
    const home = await homeCluster('serve-port');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '::', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = await startCli(
        ['serve', '--port', String(port)],
        home.env({ METALLB_DYN6_HTTP_TOKEN: TOKEN }),
      ).done;
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`metallb-dyn6: cannot listen on port ${String(port)}: listen EADDRINUSE`);
    } finally {
      taken.close();
    }
  });
});

describe("run: the Deployment's probes and metrics", () => {
  it('answers its probes and counts its runs on /metrics while it syncs every interval', async () => {
    const home = await homeCluster('run-metrics');
    const cli = startCli(['run', '--interval', '1'], home.env(), 60_000);
    const base = `http://127.0.0.1:${String(await listeningPort(cli))}`;
    try {
      expect((await fetch(`${base}/health/liveness`)).status).toBe(200);
      expect((await fetch(`${base}/health/readiness`)).status).toBe(200);
      let metrics = '';
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        metrics = await (await fetch(`${base}/metrics`)).text();
        if ((sample(metrics, 'metallb_dyn6_runs_total{status="unchanged",stage=""}') ?? 0) >= 1) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(sample(metrics, 'metallb_dyn6_runs_total{status="updated",stage=""}')).toBe(1);
      expect(sample(metrics, 'metallb_dyn6_runs_total{status="unchanged",stage=""}')).toBeGreaterThanOrEqual(
        1,
      );
      expect(sample(metrics, 'metallb_dyn6_pool_writes_total')).toBe(1);
      expect(sample(metrics, 'metallb_dyn6_api_requests_total')).toBeGreaterThan(1);
      // The HTTP contract is serve's: run takes no calls.
      expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(404);
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect((await cli.done).code).toBe(0);
  });
});
