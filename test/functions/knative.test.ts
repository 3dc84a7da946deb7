import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundle } from '../../scripts/bundle.js';
import { REPO_ROOT } from '../harness/binaries.js';
import { freePort } from '../harness/ports.js';
import { auditTrail, sharedCluster } from '../harness/shared-cluster.js';
import { bearer, call, TEST_HTTP_TOKEN } from '../support/http-client.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD, type HomeCluster } from '../support/sync-fixture.js';

// A PingSource tick in binary content mode, as Knative Eventing delivers it.
const ping = (body = '{}') => ({
  body,
  headers: {
    'ce-specversion': '1.0',
    'ce-type': 'dev.knative.sources.ping',
    'ce-source': '/apis/v1/namespaces/metallb-system/pingsources/metallb-dyn6',
    'ce-id': `ping-${String(Math.random()).slice(2)}`,
    'ce-time': new Date().toISOString(),
    'content-type': 'application/json',
  },
});

describe('Knative function on the real faas-js-runtime', () => {
  let home: HomeCluster;
  let runtime: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const entry = await bundle('knative');
    home = await homeCluster('knative', { metallbVersion: 'v0.13.12' });
    const port = await freePort();
    url = `http://127.0.0.1:${String(port)}`;
    const log = openSync(path.join(sharedCluster().runDir, `faas-js-runtime-${home.namespace}.log`), 'a');
    runtime = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules/faas-js-runtime/bin/cli.js'), entry, '--port', String(port)],
      {
        cwd: path.dirname(entry),
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '/tmp',
          ...home.env({ METALLB_DYN6_HTTP_TOKEN: TEST_HTTP_TOKEN, METALLB_DYN6_RELOAD_TIMEOUT: '20' }),
        },
        stdio: ['ignore', log, log],
      },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`${url}/health/readiness`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('faas-js-runtime did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => {
    runtime.kill('SIGTERM');
  });

  it("serves the runtime's health endpoints", async () => {
    expect((await fetch(`${url}/health/liveness`)).status).toBe(200);
    expect((await fetch(`${url}/health/readiness`)).status).toBe(200);
  });

  it('refuses calls without a valid bearer token before touching anything', async () => {
    const noToken = await call(url, {
      headers: { 'content-type': 'application/json' },
      body: '{"force":true}',
    });
    const wrongToken = await call(url, { headers: bearer('x'.repeat(TEST_HTTP_TOKEN.length)), body: '{}' });
    const basic = await call(url, {
      headers: { authorization: `Basic ${Buffer.from(`u:${TEST_HTTP_TOKEN}`).toString('base64')}` },
    });
    expect([noToken.status, wrongToken.status, basic.status]).toEqual([401, 401, 401]);
    expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await auditTrail(home.username)).toEqual([]);
    expect((await home.readPool()).spec.addresses).toContain(range(SUBNET_OLD));
  });

  it('runs a ping and a POST at once without patching or cycling MetalLB twice', async () => {
    const [tick, post] = await Promise.all([
      call(url, ping()),
      call(url, { headers: { authorization: bearer().authorization } }),
    ]);
    expect([tick.status, post.status]).toEqual([200, 200]);
    expect([tick.json['status'], post.json['status']].sort()).toEqual(['unchanged', 'updated']);
    expect(tick.json['trigger']).toBe('schedule');
    expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
    const trail = await auditTrail(home.username);
    expect(trail.filter((t) => t === 'patch ipaddresspools 200')).toHaveLength(1);
    expect(trail.filter((t) => t.startsWith('deletecollection pods'))).toHaveLength(1);
  });

  it("takes a prefix pushed by the router's DHCPv6-PD hook", async () => {
    const pushed = await call(url, {
      headers: bearer(),
      body: JSON.stringify({ prefix: '2a02:8071:abcd:ef00::/56' }),
    });
    expect(pushed.status).toBe(200);
    expect(pushed.json).toMatchObject({
      status: 'updated',
      trigger: 'http-push',
      source: 'push',
      prefix: '2a02:8071:abcd:ef00::/64',
    });
    expect((await home.readPool()).spec.addresses).toEqual([
      '192.168.178.240/28',
      range('2a02:8071:abcd:ef00'),
    ]);
  });

  it('ignores anything a ping carries: a tick only runs the configured sync', async () => {
    const forged = await call(url, ping(JSON.stringify({ prefix: '2a02:8071:9999::/48', force: true })));
    expect(forged.status).toBe(200);
    expect(forged.json).toMatchObject({
      status: 'updated',
      trigger: 'schedule',
      prefix: `${SUBNET_NEW}::/64`,
    });
  });

  it.each([
    ['a ULA prefix', JSON.stringify({ prefix: 'fd00:1234::/48' }), /not a global unicast address/],
    ['an unknown field', JSON.stringify({ prefixes: [] }), /unknown field\(s\): prefixes/],
    ['a non-boolean flag', JSON.stringify({ dryRun: 'yes' }), /dryRun must be true or false/],
    ['text that is not JSON', 'prefix=2a02::/48', /body is not JSON/],
  ])('answers 400 for %s and writes nothing', async (_what, body, message) => {
    const before = await home.readPool();
    // Sent as text: with a JSON content type the runtime itself refuses malformed JSON (400 too).
    const response = await call(url, { headers: { ...bearer(), 'content-type': 'text/plain' }, body });
    expect(response.status).toBe(400);
    expect(String(response.json['error'])).toMatch(message);
    expect(await home.readPool()).toEqual(before);
  });

  it('dry-runs on request, and forces a MetalLB reload on request', async () => {
    const before = await home.readPool();
    const dry = await call(url, {
      headers: bearer(),
      body: JSON.stringify({ dryRun: true, prefix: '2a02:8071:7777::/48' }),
    });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({
      status: 'dry-run',
      added: ['2a02:8071:7777::1000-2a02:8071:7777::1999'],
    });
    expect(await home.readPool()).toEqual(before);

    const forced = await call(url, { headers: bearer(), body: JSON.stringify({ force: true }) });
    expect(forced.status).toBe(200);
    expect(forced.json).toMatchObject({
      status: 'unchanged',
      reload: { action: 'cycled', reason: 'reload forced' },
    });
  });
});
