// client-node's API classes over our HTTP layer (lib/cluster/node-http-library.ts), against a real
// server on 127.0.0.1 answering as the apiserver does: what goes out, what a success and a refusal
// read as, and a request cut by its signal.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ApiException, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { abortAfter } from '../../../lib/cluster/abort-after.js';
import { ApiClients } from '../../../lib/cluster/api-clients.js';
import { currentRequestSignal } from '../../../lib/cluster/api-requests.js';
import { mergePatch } from '../../../lib/cluster/pool-resource.js';

const TOKEN = 'api-clients-test-token';
const POOL = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' } };
interface Seen {
  method: string | undefined;
  url: string | undefined;
  auth: string | undefined;
  agent: string | undefined;
  type: string | undefined;
  body: string;
}
const seen: Seen[] = [];
let server: http.Server;
let api: CustomObjectsApi;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        agent: req.headers['user-agent'],
        type: req.headers['content-type'],
        body,
      });
      if (req.url?.endsWith('/slow') === true) return; // never answers
      if (req.url?.endsWith('/compressed') === true) {
        // As the apiserver answers a large LIST: compressed when the client accepts it.
        const accepts = (req.headers['accept-encoding'] ?? '').includes('gzip');
        const answer = JSON.stringify({ ...POOL, metadata: { name: accepts ? 'compressed' : 'plain' } });
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(accepts ? { 'content-encoding': 'gzip' } : {}),
        });
        res.end(accepts ? gzipSync(answer) : answer);
        return;
      }
      if (req.url?.endsWith('/missing') === true) {
        res.setHeader('warning', ['299 - "one"', '299 - "two"']);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'not there', code: 404 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(POOL));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain HTTP unless TLS verification is off, as for a local proxy.
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: TOKEN }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  api = new ApiClients(kc).get(CustomObjectsApi);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const object = (name: string) => ({
  group: 'metallb.io',
  version: 'v1beta1',
  namespace: 'metallb-system',
  plural: 'ipaddresspools',
  name,
});

describe("client-node's API classes over node:http", () => {
  it('reads an object, sending the credentials and its name', async () => {
    seen.length = 0;
    expect(await api.getNamespacedCustomObject(object('p'))).toEqual(POOL);
    expect(seen).toEqual([
      {
        method: 'GET',
        url: '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/p',
        auth: `Bearer ${TOKEN}`,
        agent: 'metallb-dyn6',
        type: undefined,
        body: '',
      },
    ]);
  });

  it('asks for compressed answers and reads them', async () => {
    expect(await api.getNamespacedCustomObject(object('compressed'))).toEqual({
      ...POOL,
      metadata: { name: 'compressed' },
    });
  });

  it('sends a merge patch as JSON with its content type', async () => {
    seen.length = 0;
    await api.patchNamespacedCustomObject({ ...object('p'), body: { spec: { addresses: [] } } }, mergePatch);
    expect(seen[0]).toMatchObject({
      method: 'PATCH',
      type: 'application/merge-patch+json',
      body: '{"spec":{"addresses":[]}}',
    });
  });

  it("turns a refusal into client-node's ApiException, with the Status and the headers", async () => {
    const failure: unknown = await api.getNamespacedCustomObject(object('missing')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ApiException);
    const { code, body, headers } = failure as ApiException<string>;
    expect(code).toBe(404);
    expect(JSON.parse(body)).toMatchObject({ message: 'not there' });
    expect(headers['warning']).toBe('299 - "one", 299 - "two"');
  });

  it('ends a request when the signal of ApiRequests fires, with its reason', async () => {
    const reason = new Error('the run deadline passed');
    const { signal } = abortAfter(50, reason);
    await expect(
      currentRequestSignal.run(signal, () => api.getNamespacedCustomObject(object('slow'))),
    ).rejects.toBe(reason);
  });
});
