import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { bundle } from '../../../scripts/bundle.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { freePort } from '../../../devcluster/ports.js';
import { auditSettled, sharedCluster } from '../../../devcluster/shared-cluster.js';
import { bearer, call, TEST_HTTP_TOKEN } from '../../support/http-client.js';
import { restarts, watchAddresses } from '../../support/pool-watch.js';
import { OWNED_ANNOTATION } from '../../../lib/plan/pool-record.js';
import { render } from '../../support/kubectl.js';
import {
  hookHeaders,
  jsonDocument,
  post,
  ROUTER_CONTENT_TYPES,
  refusalAnswers,
  EXPECTED_REFUSALS,
} from '../../support/router-push.js';
import {
  homeCluster,
  range,
  SUBNET_NEW,
  SUBNET_OLD,
  type HomeCluster,
  type HomeClusterOptions,
} from '../../../devcluster/home-cluster.js';

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

/** A pool already on the configured prefix and owned by metallb-dyn6: a plain sync leaves it as it is. */
const ALREADY_SYNCED: HomeClusterOptions = {
  addresses: ['192.168.178.240/28', range(SUBNET_NEW)],
  annotations: { [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_NEW)]) },
};

const VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

interface Container {
  image: string;
  args?: string[];
  ports?: { containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { httpGet?: { path: string; port?: number } };
  livenessProbe?: { httpGet?: { path: string; port?: number } };
  securityContext?: { readOnlyRootFilesystem?: boolean };
}
interface KnativeService {
  apiVersion: string;
  kind: string;
  spec: {
    template: {
      spec: { containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] };
    };
  };
}

describe('deploying the Knative function', () => {
  const overlay = () =>
    parseAllDocuments(render('overlays/knative')).map(
      (d) =>
        d.toJSON() as { apiVersion: string; kind: string; metadata: { name: string } } & Record<
          string,
          unknown
        >,
    );
  const service = () => {
    const found = overlay().find((d) => d.apiVersion === 'serving.knative.dev/v1' && d.kind === 'Service');
    if (found === undefined) throw new Error('the knative overlay has no Knative Service');
    return found as unknown as KnativeService;
  };

  it("runs the released image's serve on the port Knative gives it, probed on /health/*", () => {
    const [container, ...others] = service().spec.template.spec.containers;
    expect(others).toEqual([]);
    expect(container).toMatchObject({
      image: `ghcr.io/metallb-dyn6/metallb-dyn6:${VERSION}`,
      args: ['serve'],
      ports: [{ containerPort: 8080 }],
      readinessProbe: { httpGet: { path: '/health/readiness', port: 8080 } },
      livenessProbe: { httpGet: { path: '/health/liveness', port: 8080 } },
      securityContext: { readOnlyRootFilesystem: true },
    });
    // Knative sets PORT from containerPort and refuses a Service that sets it itself.
    expect(container?.env?.map((e) => e.name)).not.toContain('PORT');
  });

  it('func.yaml mounts the token Secret where METALLB_DYN6_HTTP_TOKEN_FILE points and imports the settings ConfigMap, as the overlay does', () => {
    const func = parseYaml(readFileSync(path.join(REPO_ROOT, 'functions/knative/func.yaml'), 'utf8')) as {
      run: {
        volumes: { secret?: string; configMap?: string; path: string }[];
        envs: { name?: string; value: string }[];
      };
    };
    const tokenFile = func.run.envs.find((e) => e.name === 'METALLB_DYN6_HTTP_TOKEN_FILE')?.value ?? '';
    const secretVolume = func.run.volumes.find((v) => v.secret !== undefined);
    // func deploy mounts a Secret volume's keys as files in its path (knative/func ProcessVolumes).
    expect(path.posix.dirname(tokenFile)).toBe(secretVolume?.path);
    // The same Secret, mount and file as the overlay's Service, the one the README has you create.
    const spec = service().spec.template.spec;
    const [container] = spec.containers;
    const mounted = spec.volumes.find((v) => v.secret !== undefined);
    expect({ secret: secretVolume?.secret, path: secretVolume?.path, file: tokenFile }).toEqual({
      secret: mounted?.secret?.secretName,
      path: container?.volumeMounts?.find((m) => m.name === mounted?.name)?.mountPath,
      file: container?.env?.find((e) => e.name === 'METALLB_DYN6_HTTP_TOKEN_FILE')?.value,
    });
    // A name-less '{{ configMap:NAME }}' entry is every key of NAME as a variable (func's envFrom):
    // the overlay's settings ConfigMap, which holds what the sync cannot run without. The pattern
    // is func's own check of such an entry (knative/func pkg/functions: regWholeConfigMap).
    const imported = func.run.envs
      .filter((e) => e.name === undefined)
      .map((e) => /^\{\{\s*configMap:((?:\w|['-]\w)+)\s*\}\}$/.exec(e.value)?.[1]);
    expect(imported).toEqual(container?.envFrom?.map((e) => e.configMapRef?.name));
    const settings = overlay().find((d) => d.kind === 'ConfigMap' && d.metadata.name === imported[0]) as
      { data: Record<string, string> } | undefined;
    expect(Object.keys(settings?.data ?? {})).toEqual(
      expect.arrayContaining(['METALLB_DYN6_HOST_RANGE', 'METALLB_DYN6_METALLB_POOL', 'METALLB_DYN6_SOURCE']),
    );
  });
});

describe('Knative function on the real faas-js-runtime', () => {
  let entry: string;
  const runtimes: ChildProcess[] = [];

  beforeAll(async () => {
    entry = await bundle('knative');
  });
  afterEach(() => {
    for (const runtime of runtimes.splice(0)) runtime.kill('SIGTERM');
  });

  /**
   * The function for one test alone: its own namespace, MetalLB (0.13, so updates cycle it) and pool,
   * served by a runtime of its own. No test sees another's pool or requests, so each runs alone and
   * in any order.
   */
  async function knativeFunction(
    options: HomeClusterOptions = {},
  ): Promise<{ home: HomeCluster; url: string }> {
    const home = await homeCluster('knative', { metallbVersion: 'v0.13.12', ...options });
    const port = await freePort();
    const url = `http://127.0.0.1:${String(port)}`;
    const log = openSync(path.join(sharedCluster().runDir, `faas-js-runtime-${home.namespace}.log`), 'a');
    const runtime = spawn(
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
    runtimes.push(runtime);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`${url}/health/readiness`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (runtime.exitCode !== null) throw new Error(`faas-js-runtime exited ${String(runtime.exitCode)}`);
      if (Date.now() > deadline) throw new Error('faas-js-runtime did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { home, url };
  }

  it('forty pushes of one new prefix in forty spellings, half of them forced, at once: one write of the addresses, one MetalLB restart, all 200', async () => {
    const { home, url } = await knativeFunction();
    const watch = await watchAddresses(home);
    try {
      const spelled = (i: number) =>
        i % 3 === 0
          ? `${SUBNET_NEW}::${i.toString(16)}/64`
          : `${SUBNET_NEW.toUpperCase()}:0:0:0:${String(i)}/64`;
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          call(url, {
            headers: bearer(),
            body: JSON.stringify({ prefix: spelled(i), ...(i % 2 === 0 ? { force: true } : {}) }),
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 40 }, () => 200));
      const statuses = answers.map((a) => (a.json as { status: string }).status);
      expect(statuses.every((s) => ['updated', 'unchanged', 'joined'].includes(s))).toBe(true);
      expect(await watch.settled()).toEqual([['192.168.178.240/28', range(SUBNET_NEW)]]);
      expect(restarts(await auditSettled(home))).toBe(1);
    } finally {
      watch.stop();
    }
  });

  it("serves the runtime's health endpoints", async () => {
    const { url } = await knativeFunction();
    expect((await fetch(`${url}/health/liveness`)).status).toBe(200);
    expect((await fetch(`${url}/health/readiness`)).status).toBe(200);
  });

  it('refuses calls without a valid bearer token before touching anything', async () => {
    const { home, url } = await knativeFunction();
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
    expect(await auditSettled(home)).toEqual([]);
    expect((await home.readPool()).spec.addresses).toContain(range(SUBNET_OLD));
  });

  it('runs twenty calls that arrive at once (ten pings, ten POSTs) as one sync: one read, one write, one MetalLB cycle', async () => {
    const { home, url } = await knativeFunction();
    const post = { headers: { authorization: bearer().authorization } };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(url, i % 2 === 0 ? ping() : post)),
    );
    const statuses = answers.map((a) => a.status);
    // One ping passes the tick gate and joins the POSTs' sync; the other nine are told to wait.
    expect(statuses.filter((s) => s === 200)).toHaveLength(11);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    const synced = answers.filter((a) => a.status === 200).map((a) => a.json);
    expect(new Set(synced.map((j) => JSON.stringify(j))).size).toBe(1);
    expect(synced[0]).toMatchObject({ status: 'updated' });
    expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
    const trail = await auditSettled(home);
    expect(trail.filter((t) => t.startsWith('get ipaddresspools'))).toHaveLength(1);
    // The write (recording the restart it owes), and the mark cleared once MetalLB is back.
    expect(trail.filter((t) => t === 'patch ipaddresspools 200')).toHaveLength(2);
    expect(trail.filter((t) => t.startsWith('deletecollection pods'))).toHaveLength(1);
  });

  it("answers GET with our 405 and PUT or DELETE with the runtime's own 404, syncing nothing", async () => {
    const { home, url } = await knativeFunction();
    const statuses = [];
    for (const method of ['GET', 'PUT', 'DELETE']) {
      statuses.push(
        (await fetch(url, { method, headers: { authorization: bearer().authorization } })).status,
      );
    }
    expect(statuses).toEqual([405, 404, 404]);
    expect(await auditSettled(home)).toEqual([]);
  });

  it('answers a second ping within the minimum interval with 429 and Retry-After, syncing nothing', async () => {
    const { home, url } = await knativeFunction();
    expect((await call(url, ping())).status).toBe(200);
    const before = (await auditSettled(home)).length;
    const again = await call(url, ping());
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await auditSettled(home)).length).toBe(before);
  });

  it('takes a router\'s push of {"prefix": …} with every Content-Type a hook sends, curl -d\'s form type included', async () => {
    // MetalLB 0.14 needs no restart for a new pool: five moves of the pool stay quick.
    const { home, url } = await knativeFunction({ metallbVersion: 'v0.14.9' });
    const pushes = [];
    for (const [i, [what, type]] of ROUTER_CONTENT_TYPES.entries()) {
      // A new delegation each time: each push visibly moves the pool to the prefix it carried.
      const answer = await post(
        url,
        hookHeaders(type, TEST_HTTP_TOKEN),
        JSON.stringify({ prefix: `2a02:8071:abc${String(i)}:ef00::/56` }),
      );
      pushes.push({
        what,
        status: answer.status,
        result: jsonDocument(answer),
        pool: (await home.readPool()).spec.addresses,
      });
    }
    expect(pushes).toEqual(
      ROUTER_CONTENT_TYPES.map(([what], i) => ({
        what,
        status: 200,
        result: expect.objectContaining({
          status: 'updated',
          trigger: 'http-push',
          source: 'push',
          prefix: `2a02:8071:abc${String(i)}:ef00::/64`,
        }),
        pool: ['192.168.178.240/28', range(`2a02:8071:abc${String(i)}:ef00`)],
      })),
    );
  });

  it('answers 401 JSON to every call without the token, malformed JSON included, and 400 JSON to malformed JSON with it, touching nothing', async () => {
    const { home, url } = await knativeFunction();
    const before = await home.readPool();
    expect(await refusalAnswers(url, TEST_HTTP_TOKEN)).toEqual(EXPECTED_REFUSALS);
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual([]);
  });

  it('ignores anything a ping carries: a tick only runs the configured sync', async () => {
    // Already on the configured prefix: a forged prefix would change the pool, a forged force
    // would cycle MetalLB. The tick does neither: one read, nothing else.
    const { home, url } = await knativeFunction(ALREADY_SYNCED);
    const before = await home.readPool();
    const forged = await call(url, ping(JSON.stringify({ prefix: '2a02:8071:9999::/48', force: true })));
    expect(forged.status).toBe(200);
    expect(forged.json).toMatchObject({
      status: 'unchanged',
      trigger: 'schedule',
      prefix: `${SUBNET_NEW}::/64`,
    });
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual(['get ipaddresspools 200']);
  });

  it.each([
    ['a ULA prefix', JSON.stringify({ prefix: 'fd00:1234::/48' }), /not a global unicast address/],
    ['an unknown field', JSON.stringify({ prefixes: [] }), /unknown field\(s\): prefixes/],
    ['a non-boolean flag', JSON.stringify({ dryRun: 'yes' }), /dryRun must be true or false/],
    ['text that is not JSON', 'prefix=2a02::/48', /body is not JSON/],
  ])('answers 400 for %s and writes nothing', async (_what, body, message) => {
    const { home, url } = await knativeFunction();
    const before = await home.readPool();
    // Whatever the type says, the body reaches the contract: the runtime parses (and refuses) nothing.
    for (const type of ['text/plain', 'application/json']) {
      const response = await call(url, { headers: { ...bearer(), 'content-type': type }, body });
      expect(response.status).toBe(400);
      expect(String(response.json['error'])).toMatch(message);
    }
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual([]);
  });

  it('answers a body that is not UTF-8 like the other platforms: 401 without the token, else 400 "body is not JSON"', async () => {
    const { home, url } = await knativeFunction();
    const before = await home.readPool();
    const notUtf8 = new Uint8Array([0xff, 0xfe]);
    const answers = [];
    for (const type of ['application/json', 'text/plain', 'application/octet-stream']) {
      for (const headers of [bearer(), { 'content-type': 'application/json' }]) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { ...headers, 'content-type': type },
          body: notUtf8,
        });
        answers.push({ type, status: response.status, body: await response.text() });
      }
    }
    expect(answers).toEqual(
      ['application/json', 'text/plain', 'application/octet-stream'].flatMap((type) => [
        { type, status: 400, body: JSON.stringify({ error: 'body is not JSON' }) },
        { type, status: 401, body: JSON.stringify({ error: 'missing or invalid bearer token' }) },
      ]),
    );
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual([]);
  });

  it('dry-runs on request, and forces a MetalLB reload on request', async () => {
    const { home, url } = await knativeFunction(ALREADY_SYNCED);
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
    expect(await auditSettled(home)).toEqual(['get ipaddresspools 200']);

    const forced = await call(url, { headers: bearer(), body: JSON.stringify({ force: true }) });
    expect(forced.status).toBe(200);
    expect(forced.json).toMatchObject({
      status: 'unchanged',
      reload: { action: 'cycled', reason: 'reload forced' },
    });
    // Its writes: the claim on the restart, deleting MetalLB's pods, the claim cleared (with the
    // restart recorded). The pool's addresses are not touched.
    expect((await auditSettled(home)).filter((t) => !/^(get|list|watch) /.test(t))).toEqual([
      'patch ipaddresspools 200',
      'deletecollection pods 200',
      'patch ipaddresspools 200',
    ]);
    expect((await home.readPool()).spec).toEqual(before.spec);
  });
});
