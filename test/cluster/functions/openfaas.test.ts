import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { bundle } from '../../../scripts/bundle.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { OWNED_ANNOTATION } from '../../../lib/plan/pool-record.js';
import { freePort } from '../../../devcluster/ports.js';
import { auditSettled, sharedCluster } from '../../../devcluster/shared-cluster.js';
import { bearer, call, TEST_HTTP_TOKEN } from '../../support/http-client.js';
import { startHttpStub, type HttpStub } from '../../support/http-stub.js';
import { runProcess } from '../../../devcluster/run-process.js';
import {
  homeCluster,
  range,
  SUBNET_NEW,
  SUBNET_OLD,
  type HomeCluster,
} from '../../../devcluster/home-cluster.js';
import {
  hookHeaders,
  jsonDocument,
  post,
  ROUTER_CONTENT_TYPES,
  refusalAnswers,
  EXPECTED_REFUSALS,
} from '../../support/router-push.js';

interface StackFunction {
  lang?: string;
  handler?: string;
  image: string;
  skip_build?: boolean;
  readonly_root_filesystem?: boolean;
  annotations: Record<string, string>;
  environment: Record<string, string>;
  secrets: string[];
}
const stackFunction = (file: string): StackFunction => {
  const stack = parseYaml(readFileSync(path.join(REPO_ROOT, 'deploy/overlays/openfaas', file), 'utf8')) as {
    functions: Record<string, StackFunction>;
  };
  const fn = stack.functions['metallb-dyn6'];
  if (fn === undefined) throw new Error(`${file} defines no function metallb-dyn6`);
  return fn;
};
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
/** faas-cli's stack files substitute ${VAR:-default} from the environment (drone/envsubst). */
const withDefaults = (text: string) => text.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
/** The platform's settings of the template build (RAW_BODY, …); the tests set the sync's own. */
const templateSettings = () =>
  Object.fromEntries(
    Object.entries(stackFunction('stack.build.yml').environment).filter(
      ([k]) => !k.startsWith('METALLB_DYN6_'),
    ),
  );

describe('OpenFaaS stack files', () => {
  it('stack.yml runs the released image as it is: serve, the token secret, a read-only root, HTTP probes', () => {
    const fn = stackFunction('stack.yml');
    expect(fn.image).toBe(`ghcr.io/metallb-dyn6/metallb-dyn6:${VERSION}`);
    // skip_build: faas-cli build, push and up leave it alone (and push's prefix check skips it).
    expect([fn.skip_build, fn.lang, fn.handler]).toEqual([true, undefined, undefined]);
    expect(fn.readonly_root_filesystem).toBe(true);
    expect(fn.environment['METALLB_DYN6_COMMAND']).toBe('serve');
    // faas-netes mounts each listed secret's keys in /var/openfaas/secrets; faas-cli's secret's key is its name.
    expect(fn.secrets).toEqual(['metallb-dyn6-http-token']);
    expect(fn.environment['METALLB_DYN6_HTTP_TOKEN_FILE']).toBe(
      '/var/openfaas/secrets/metallb-dyn6-http-token',
    );
    // Only a path other than faas-netes' default makes it probe over HTTP whatever its http_probe says:
    // its default is `cat /tmp/.lock`, and the distroless image has no cat.
    expect(fn.annotations['com.openfaas.health.http.path']).toMatch(/^\/health\/(liveness|readiness)$/);
    expect(fn.annotations).toMatchObject({ topic: 'cron-function', schedule: '*/5 * * * *' });
  });

  it('stack.build.yml builds the node22 template around the bundle, with RAW_BODY and the same settings', () => {
    const built = stackFunction('stack.build.yml');
    const released = stackFunction('stack.yml');
    expect(built.lang).toBe('node22');
    // faas-cli resolves the handler from the directory it runs in: the README runs it from the root.
    expect(path.resolve(REPO_ROOT, built.handler ?? '')).toBe(path.join(REPO_ROOT, 'dist/bundle/openfaas'));
    // faas-cli push refuses an image without a registry or account prefix.
    expect(withDefaults(built.image)).toMatch(/^[^/]+\/[^/]+\/metallb-dyn6-openfaas:/);
    expect(built.image).toContain(`:${VERSION}`);
    expect(built.readonly_root_filesystem).toBe(true);
    expect(built.environment['RAW_BODY']).toBe('true');
    const { METALLB_DYN6_COMMAND: command, ...settings } = Object.fromEntries(
      Object.entries(released.environment).filter(([k]) => k.startsWith('METALLB_DYN6_')),
    );
    expect(command).toBe('serve');
    expect(built.environment).toMatchObject(settings);
    expect(built.secrets).toEqual(released.secrets);
    expect(built.annotations).toMatchObject({
      topic: 'cron-function',
      schedule: released.annotations['schedule'],
      'com.openfaas.serviceaccount': 'metallb-dyn6',
    });
    // The gateway gives up after 60 s by default; the function must answer before, MetalLB's wait included.
    const seconds = (text = '') => Number(/^(\d+)s?$/.exec(text)?.[1] ?? NaN);
    expect(seconds(built.environment['exec_timeout'])).toBeLessThanOrEqual(60);
    expect(seconds(built.environment['write_timeout'])).toBeLessThanOrEqual(60);
    expect(seconds(built.environment['METALLB_DYN6_RELOAD_TIMEOUT'])).toBeLessThan(
      seconds(built.environment['exec_timeout']),
    );
  });
});

describe("what faas-cli leaves in the repository's root", () => {
  // `faas-cli template store pull` writes template/, `faas-cli build --shrinkwrap` build/ (the
  // template with the bundle copied in: a minified handler.js prettier and eslint would reject).
  const LEFT_BY_FAAS_CLI = [
    'template/node22/index.js',
    'template/node22/template.yml',
    'build/metallb-dyn6/index.js',
    'build/metallb-dyn6/function/handler.js',
  ];
  // Ours, and folders of the same names deeper down: still linted and tracked.
  const OURS = ['functions/openfaas/handler.ts', 'test/template/x.ts', 'scripts/build/x.ts'];

  it('is ignored by eslint, prettier and git; our own files are not', async () => {
    // The real tools' own answers, asked in a process of their own (as `npm run lint` runs them).
    const script = `
      import { ESLint } from 'eslint';
      import * as prettier from 'prettier';
      const eslint = new ESLint({ cwd: process.cwd() });
      const files = JSON.parse(process.argv[1]);
      const out = {};
      for (const f of files) {
        out[f] = {
          eslint: await eslint.isPathIgnored(f),
          prettier: (await prettier.getFileInfo(f, { ignorePath: '.prettierignore' })).ignored,
        };
      }
      process.stdout.write(JSON.stringify(out));`;
    const files = [...LEFT_BY_FAAS_CLI, ...OURS];
    const run = await runProcess(
      process.execPath,
      ['--input-type=module', '-e', script, JSON.stringify(files)],
      {
        env: { PATH: process.env['PATH'] ?? '' },
        cwd: REPO_ROOT,
      },
    );
    expect(run.stderr).toBe('');
    const git = async (f: string) =>
      (await runProcess('git', ['check-ignore', '--quiet', '--no-index', f], { env: {}, cwd: REPO_ROOT }))
        .code === 0;
    const answers = JSON.parse(run.stdout) as Record<string, { eslint: boolean; prettier: boolean }>;
    const seen = await Promise.all(files.map(async (f) => ({ f, ...answers[f], git: await git(f) })));
    expect(seen).toEqual([
      ...LEFT_BY_FAAS_CLI.map((f) => ({ f, eslint: true, prettier: true, git: true })),
      ...OURS.map((f) => ({ f, eslint: false, prettier: false, git: false })),
    ]);
  });
});

describe("OpenFaaS handler in the node22 template's server (express and body-parser, as stack.build.yml configures it)", () => {
  let folder: string;
  let node22: string;
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    const handler = await bundle('openfaas');
    const provision = async (script: string, args: string[] = []) => {
      const run = await runProcess('bash', [path.join(REPO_ROOT, 'scripts', script), ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '/tmp',
          ...(process.env['OPENFAAS_NODE22_TEMPLATE'] === undefined
            ? {}
            : { OPENFAAS_NODE22_TEMPLATE: process.env['OPENFAAS_NODE22_TEMPLATE'] }),
        },
      });
      if (run.code !== 0) throw new Error(`${script} failed: ${run.stderr}`);
      return run.stdout.trim().split('\n').at(-1) ?? '';
    };
    const libraries = await provision('provision-openfaas-template.sh');
    // The template's image is node:22-alpine: its server runs on Node 22 here too.
    node22 = path.join(await provision('provision-node.sh', ['22']), 'node');
    // Laid out as the template's image lays out /home/app: index.js, its node_modules, function/.
    folder = mkdtempSync(path.join(tmpdir(), 'openfaas-node22-'));
    const template = process.env['OPENFAAS_NODE22_TEMPLATE'];
    cpSync(
      template === undefined
        ? path.join(REPO_ROOT, 'test/fixtures/openfaas/node22-template.cjs')
        : path.join(template, 'index.js'),
      path.join(folder, 'index.js'),
    );
    symlinkSync(path.join(libraries, 'node_modules'), path.join(folder, 'node_modules'));
    cpSync(path.dirname(handler), path.join(folder, 'function'), { recursive: true });
  }, 300_000);
  afterAll(() => {
    for (const server of servers) server.kill('SIGTERM');
    rmSync(folder, { recursive: true, force: true });
  });

  /** The template's server for one home, with the platform settings given; its URL. */
  async function templateServer(
    home: HomeCluster,
    settings: Record<string, string>,
    extra: Record<string, string> = {},
  ): Promise<string> {
    const port = await freePort();
    const log = openSync(path.join(sharedCluster().runDir, `openfaas-node22-${home.namespace}.log`), 'a');
    const server = spawn(node22, ['index.js'], {
      cwd: folder,
      env: {
        PATH: process.env['PATH'] ?? '',
        ...settings,
        // of-watchdog's upstream_url is http://127.0.0.1:3000; the template reads the port from http_port.
        http_port: String(port),
        ...home.env({ METALLB_DYN6_HTTP_TOKEN: TEST_HTTP_TOKEN, ...extra }),
      },
      stdio: ['ignore', 'pipe', log],
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => {
        resolve();
      });
      server.once('exit', (code) => {
        reject(new Error(`the template's server exited ${String(code)}`));
      });
    });
    return `http://127.0.0.1:${String(port)}/`;
  }

  it("builds the way the template's image does: npm install and npm test pass in the handler folder", async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOME: path.join(REPO_ROOT, '.run', 'npm-home') };
    const handlerFolder = path.join(REPO_ROOT, 'dist/bundle/openfaas');
    for (const args of [['install', '--no-audit', '--no-fund', '--offline'], ['test']]) {
      const run = await runProcess('npm', args, { env, cwd: handlerFolder });
      expect({ args, code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({
        args,
        code: 0,
        stderr: '',
      });
    }
  });

  describe('the schedule and the HTTP contract', () => {
    let home: HomeCluster;
    let echo: HttpStub;
    let url: string;

    beforeAll(async () => {
      // An entry it does not own that a pushed prefix would collide with: the sync must refuse it.
      home = await homeCluster('openfaas', {
        addresses: ['2a02:8071:5555::/48', range(SUBNET_OLD)],
        annotations: { [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_OLD)]) },
      });
      // A plain-text IP echo service: the CommonJS bundle's HTTP client at work.
      echo = await startHttpStub({ '/ip': { body: `${SUBNET_NEW}::9\n` } });
      url = `${await templateServer(home, templateSettings(), { METALLB_DYN6_SOURCE: `url:${echo.url}/ip` })}function/metallb-dyn6`;
    });
    afterAll(async () => {
      await echo.close();
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

  it('takes a router\'s push of {"prefix": …} with every Content-Type a hook sends', async () => {
    const home = await homeCluster('openfaas-push');
    const url = await templateServer(home, templateSettings());
    const pushes = [];
    for (const [i, [what, type]] of ROUTER_CONTENT_TYPES.entries()) {
      // A new delegation each time: each push visibly moves the pool to the prefix it carried.
      const subnet = `2a02:8071:abc${String(i)}:ef00`;
      const answer = await post(
        url,
        hookHeaders(type, TEST_HTTP_TOKEN),
        JSON.stringify({ prefix: `${subnet}::/56` }),
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
    const home = await homeCluster('openfaas-refuse');
    const url = await templateServer(home, templateSettings());
    const before = await home.readPool();
    expect(await refusalAnswers(url, TEST_HTTP_TOKEN)).toEqual(EXPECTED_REFUSALS);
    expect(await home.readPool()).toEqual(before);
    expect(await auditSettled(home)).toEqual([]);
  });

  it('without RAW_BODY the template parses bodies itself, so the function refuses to sync rather than guess', async () => {
    const home = await homeCluster('openfaas-parsed');
    const parsing = Object.entries(templateSettings()).filter(([k]) => k !== 'RAW_BODY');
    const url = await templateServer(home, Object.fromEntries(parsing));
    const push = JSON.stringify({ prefix: '2a02:8071:abcd:ef00::/56' });
    // What the template does to bodies then, and why stack.build.yml sets RAW_BODY: malformed JSON
    // gets express's own 400 page before the handler (and so the token check) is reached…
    const malformed = await post(url, hookHeaders('application/json'), '{"prefix":');
    expect([malformed.status, malformed.headers['content-type']]).toEqual([
      400,
      expect.stringMatching(/^text\/html/),
    ]);
    // …curl -d's body arrives as a form whose one field is the JSON text…
    const form = await post(url, hookHeaders('application/x-www-form-urlencoded', TEST_HTTP_TOKEN), push);
    expect([form.status, jsonDocument(form)['error']]).toEqual([
      400,
      expect.stringMatching(/^unknown field\(s\): \{"prefix"/),
    ]);
    // …and bytes are dropped: that push would have become a plain sync. It is refused instead.
    for (const type of ['application/octet-stream', 'application/json']) {
      const refused = await post(url, hookHeaders(type, TEST_HTTP_TOKEN), push);
      expect([refused.status, jsonDocument(refused)]).toEqual([
        500,
        {
          pool: `${home.namespace}/${home.pool}`,
          // The dropped bytes leave no prefix: the document shows the push never arrived.
          trigger: type === 'application/json' ? 'http-push' : 'http',
          status: 'failed',
          stage: 'config',
          error: expect.stringMatching(/RAW_BODY is not "true"/),
          apiRequests: 0,
          durationMs: 0,
        },
      ]);
    }
    expect(await auditSettled(home)).toEqual([]);
  });
});
