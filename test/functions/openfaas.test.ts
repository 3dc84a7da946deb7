import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundle } from '../../scripts/bundle.js';
import { REPO_ROOT } from '../harness/binaries.js';
import { OWNED_ANNOTATION } from '../../lib/plan/registry.js';
import { freePort } from '../harness/ports.js';
import { auditSettled } from '../harness/shared-cluster.js';
import { bearer, call, TEST_HTTP_TOKEN } from '../support/http-client.js';
import { startHttpStub, type HttpStub } from '../support/http-stub.js';
import { runProcess } from '../support/run-process.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD, type HomeCluster } from '../support/sync-fixture.js';

describe('OpenFaaS handler served the node22 template way', () => {
  let home: HomeCluster;
  let server: ChildProcess;
  let echo: HttpStub;
  let url: string;

  beforeAll(async () => {
    const handler = await bundle('openfaas');
    // An entry it does not own that a pushed prefix would collide with: the sync must refuse it.
    home = await homeCluster('openfaas', {
      addresses: ['2a02:8071:5555::/48', range(SUBNET_OLD)],
      annotations: { [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_OLD)]) },
    });
    // A plain-text IP echo service: the CommonJS bundle's HTTP client at work.
    echo = await startHttpStub({ '/ip': { body: `${SUBNET_NEW}::9\n` } });
    const port = await freePort();
    url = `http://127.0.0.1:${String(port)}/function/metallb-dyn6`;
    server = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'test/support/openfaas-node22-template.cjs'), handler, String(port)],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          ...home.env({
            METALLB_DYN6_HTTP_TOKEN: TEST_HTTP_TOKEN,
            METALLB_DYN6_SOURCE: `url:${echo.url}/ip`,
          }),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => {
        resolve();
      });
      server.once('exit', (code) => {
        reject(new Error(`template server exited ${String(code)}`));
      });
    });
  });
  afterAll(async () => {
    server.kill('SIGTERM');
    await echo.close();
  });

  it("builds the way the template's image does: npm install and npm test pass in the handler folder", async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOME: path.join(REPO_ROOT, '.run', 'npm-home') };
    const folder = path.join(REPO_ROOT, 'dist/bundle/openfaas');
    for (const args of [['install', '--no-audit', '--no-fund', '--offline'], ['test']]) {
      const run = await runProcess('npm', args, { env, cwd: folder });
      expect({ args, code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({
        args,
        code: 0,
        stderr: '',
      });
    }
  });

  it("runs the schedule's sync when the cron-connector calls", async () => {
    const tick = await call(url, {
      headers: { 'x-connector': 'cron-connector', 'x-topic': 'cron-function' },
    });
    expect(tick.status).toBe(200);
    expect(tick.json).toMatchObject({
      status: 'updated',
      trigger: 'schedule',
      source: `url:${echo.url}/ip`,
      after: ['2a02:8071:5555::/48', range(SUBNET_NEW)],
    });
  });

  it('follows the HTTP contract: 401, 200, 400 and 502', async () => {
    expect((await call(url, { body: '{}' })).status).toBe(401);
    const unchanged = await call(url, { headers: bearer(), body: '{}' });
    expect([unchanged.status, unchanged.json['status']]).toEqual([200, 'unchanged']);
    const bad = await call(url, { headers: bearer(), body: JSON.stringify({ prefix: '192.0.2.0/24' }) });
    expect([bad.status, bad.json['error']]).toEqual([
      400,
      'source push: answer "192.0.2.0/24" is an IPv4 address',
    ]);
    const clash = await call(url, {
      headers: bearer(),
      body: JSON.stringify({ prefix: '2a02:8071:5555:1::/64' }),
    });
    expect(clash.status).toBe(502);
    expect(clash.json).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/overlaps pool entry "2a02:8071:5555::\/48"/),
    });
    expect((await home.readPool()).spec.addresses).toEqual(['2a02:8071:5555::/48', range(SUBNET_NEW)]);
    expect((await auditSettled(home)).filter((t) => t.startsWith('patch'))).toEqual([
      'patch ipaddresspools 200',
    ]);
  });
});
