import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ObjectSerializer as FullSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { clientNodeSubset } from '../../../scripts/client-node-subset.cjs';
import { buildOptions } from '../../../scripts/bundle.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { freePort } from '../../../devcluster/ports.js';
import { ensureCliBundle, runCli } from '../../../devcluster/cli.js';

interface Serializer {
  deserialize(data: unknown, type: string, format: string): unknown;
  serialize(data: unknown, type: string, format: string): unknown;
}
interface Subset {
  CoreV1Api: { prototype: Record<string, unknown> };
  ObjectSerializer: Serializer;
}

const podList = {
  apiVersion: 'v1',
  kind: 'PodList',
  metadata: { resourceVersion: '42', continue: 'next-page' },
  items: [
    {
      metadata: {
        name: 'controller-1',
        creationTimestamp: '2026-11-26T10:00:00Z',
        labels: { app: 'metallb' },
      },
      spec: { containers: [{ name: 'controller', image: 'quay.io/metallb/controller:v0.13.12' }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-26T10:00:05Z' }],
      },
    },
  ],
};

describe('the client-node subset in our bundles', () => {
  let work: string;
  let subset: Subset;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'client-node-subset-'));
    // Stands for our sources: the only client-node method named is listNamespacedPod.
    mkdirSync(path.join(work, 'src'));
    writeFileSync(path.join(work, 'src/uses.ts'), 'await core.listNamespacedPod({ namespace });\n');
    writeFileSync(
      path.join(work, 'entry.mjs'),
      "export { CoreV1Api } from '@kubernetes/client-node';\n" +
        "export { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';\n",
    );
    await build({
      ...buildOptions('cli'),
      entryPoints: [path.join(work, 'entry.mjs')],
      outfile: path.join(work, 'subset.mjs'),
      nodePaths: [path.join(REPO_ROOT, 'node_modules')],
      minify: false,
      sourcemap: false,
      legalComments: 'none',
      plugins: [clientNodeSubset({ sources: [path.join(work, 'src')] })],
    });
    subset = (await import(pathToFileURL(path.join(work, 'subset.mjs')).href)) as Subset;
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps the API methods our sources name, and only those', () => {
    expect(typeof subset.CoreV1Api.prototype['listNamespacedPod']).toBe('function');
    expect(typeof subset.CoreV1Api.prototype['listNamespacedPodWithHttpInfo']).toBe('function');
    expect(subset.CoreV1Api.prototype['createNamespacedPod']).toBeUndefined();
    expect(subset.CoreV1Api.prototype['listNode']).toBeUndefined();
  });

  it('reads what those methods return exactly as the whole client does', () => {
    const ours = subset.ObjectSerializer.deserialize(podList, 'V1PodList', '');
    const full = (FullSerializer as Serializer).deserialize(podList, 'V1PodList', '');
    expect(ours).toEqual(full);
    // The typed reading really happened: dates are Dates, "continue" is "_continue".
    expect(ours).toMatchObject({
      metadata: { _continue: 'next-page' },
      items: [{ metadata: { creationTimestamp: new Date('2026-11-26T10:00:00Z') } }],
    });
  });

  it('passes models no kept method reaches through as plain data', () => {
    const deployment = { metadata: { name: 'x', creationTimestamp: '2026-11-26T10:00:00Z' } };
    expect(subset.ObjectSerializer.deserialize(deployment, 'V1Deployment', '')).toEqual(deployment);
  });

  it('fails the build, naming the file, when client-node is not of the shape it cuts', async () => {
    const fake = path.join(work, 'fake/node_modules/@kubernetes/client-node');
    mkdirSync(path.join(fake, 'dist/gen/apis'), { recursive: true });
    writeFileSync(
      path.join(fake, 'package.json'),
      '{"name":"@kubernetes/client-node","main":"dist/gen/apis/ThingApi.js"}',
    );
    // A method that never closes on a four-space "}".
    writeFileSync(
      path.join(fake, 'dist/gen/apis/ThingApi.js'),
      'export class ThingApi {\n    listThings() {\n        return 1; }\n}\n',
    );
    writeFileSync(path.join(work, 'fake/entry.mjs'), "export { ThingApi } from '@kubernetes/client-node';\n");
    await expect(
      build({
        entryPoints: [path.join(work, 'fake/entry.mjs')],
        bundle: true,
        write: false,
        logLevel: 'silent',
        plugins: [clientNodeSubset({ sources: [path.join(work, 'src')] })],
      }),
    ).rejects.toThrow(/client-node-subset: ThingApi\.js has a method that does not end on a four-space "}"/);
  });

  /** A kubeconfig for an apiserver at `server` with `user`'s credentials; written under the suite's folder. */
  function kubeconfigFile(name: string, cluster: Record<string, string>, user: Record<string, unknown>) {
    const file = path.join(work, `${name}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
        users: [{ name: 'u', user }],
      }),
    );
    return file;
  }

  /** One `sync` with a fixed prefix through `kubeconfig`, and `env` besides. */
  async function syncWith(kubeconfig: string, env: Record<string, string> = {}) {
    await ensureCliBundle();
    return runCli(['sync'], {
      KUBECONFIG: kubeconfig,
      METALLB_DYN6_HOST_RANGE: '::1000-::1999',
      METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
      METALLB_DYN6_SOURCE: 'static:2a02:8071:1234:5678::9',
      ...env,
    });
  }

  it('still loads the SOCKS proxy agent, on demand, for a kubeconfig that names a socks proxy-url', async () => {
    const proxyPort = await freePort(); // nothing listens: the request must go there and be refused
    const kubeconfig = kubeconfigFile(
      'socks',
      { server: 'https://127.0.0.1:6443', 'proxy-url': `socks5://127.0.0.1:${String(proxyPort)}` },
      { token: 'not-a-secret' },
    );
    const run = await syncWith(kubeconfig);
    expect(run.code).toBe(1);
    expect(run.result?.error).toContain(`connect ECONNREFUSED 127.0.0.1:${String(proxyPort)}`);
  });

  it('still runs an exec credential plugin, loaded on demand, for a kubeconfig user that names one', async () => {
    const apiserverPort = await freePort(); // refused: the credentials are asked for before connecting
    const asked = path.join(work, 'exec-plugin-ran');
    const plugin = path.join(work, 'credential-plugin.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh\ntouch '${asked}'\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-the-plugin"}}'\n`,
      { mode: 0o755 },
    );
    const kubeconfig = kubeconfigFile(
      'exec',
      { server: `https://127.0.0.1:${String(apiserverPort)}` },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } },
    );
    const run = await syncWith(kubeconfig);
    expect(existsSync(asked)).toBe(true);
    expect(run.code).toBe(1);
    expect(run.result?.error).toContain(`connect ECONNREFUSED 127.0.0.1:${String(apiserverPort)}`);
  });

  it('starts a sync without the Node modules only some configurations use, and without warnings', async () => {
    const loaded = path.join(work, 'loaded-modules');
    const reporter = path.join(work, 'report-modules.mjs');
    writeFileSync(
      reporter,
      `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(loaded)}, process.moduleLoadList.join('\\n')));\n`,
    );
    const kubeconfig = kubeconfigFile(
      'plain',
      { server: `https://127.0.0.1:${String(await freePort())}` },
      { token: 'not-a-secret' },
    );
    const run = await syncWith(kubeconfig, { NODE_OPTIONS: `--import=${reporter}` });
    expect(run.code).toBe(1);
    const modules = readFileSync(loaded, 'utf8').split('\n');
    // Exec and cloud authentication, JSONPath, the DNS and interface sources, `run`'s timer, pod watches.
    for (const unused of [
      'child_process',
      'vm',
      'dns/promises',
      'fs/promises',
      'readline',
      'timers/promises',
    ])
      expect([unused, modules.includes(`NativeModule ${unused}`)]).toEqual([unused, false]);
    // Node 24 warns on url.parse(), which node-fetch used for every request.
    expect(run.stderr).not.toContain('Warning');
  });

  it('leaves out of the CLI bundle every API, model and dependency it never reaches', async () => {
    const result = await build({ ...buildOptions('cli'), write: false, metafile: true });
    // Files esbuild read but whose code did not make it into the output do not count.
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint);
    const inputs = Object.entries(output?.inputs ?? {})
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([file]) => file);
    const models = inputs.filter((f) => f.includes('client-node/dist/gen/models/'));
    expect(models.length).toBeLessThan(250); // of ~2,500
    expect(
      inputs
        .filter((f) => /client-node\/dist\/gen\/apis\/\w+Api\.js$/.test(f))
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual(['CoreV1Api.js', 'CustomObjectsApi.js']);
    for (const unused of [
      'node_modules/ws/',
      'node_modules/tar-fs/',
      'node_modules/tr46/',
      'client-node/dist/exec.js',
    ]) {
      expect(inputs.filter((f) => f.includes(unused))).toEqual([]);
    }
  });
});
