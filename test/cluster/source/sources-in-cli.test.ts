import https from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generatePki } from '../../../devcluster/pki.js';
import { sharedCluster } from '../../../devcluster/shared-cluster.js';
import { runCli } from '../../../devcluster/cli.js';
import { cloudflareTrace as trace, startHttpStub, type HttpStub } from '../../support/http-stub.js';
import { homeCluster, SUBNET_NEW } from '../../../devcluster/home-cluster.js';

// The sources in the CLI against the shared control plane; the sources themselves are tested in
// test/unit/source/sources-and-combinators.test.ts.

describe('the CLI with combined sources against real servers on 127.0.0.1', () => {
  let stub: HttpStub;
  beforeAll(async () => {
    stub = await startHttpStub({
      '/same': { body: '2a02:8071:1234:5678::99' },
      '/slow': { delayMs: 3000, body: '2a02:8071:1234:5678::1' },
      '/down': { status: 503 },
    });
  });
  afterAll(async () => {
    await stub.close();
  });

  it('gives up on the whole detection at its deadline, writing nothing', async () => {
    const home = await homeCluster('deadline');
    const before = await home.readPool();
    const run = await runCli(
      [
        'sync',
        '--detect-deadline',
        '1',
        '--source-timeout',
        '5',
        '--source',
        `quorum(2; url:${stub.url}/slow, url:${stub.url}/same)`,
      ],
      home.env(),
    );
    expect(run.code).toBe(1);
    expect(run.result?.error).toMatch(/no usable answer within the 1 s detection deadline/);
    expect(await home.readPool()).toEqual(before);
  });

  it('reports every consulted source in the result, and talks HTTPS to an IPv6 literal', async () => {
    const dir = mkdtempSync(path.join(sharedCluster().runDir, 'tls-'));
    const pki = generatePki(dir);
    const server = https.createServer(
      { cert: readFileSync(pki.servingCert), key: readFileSync(pki.servingKey) },
      (_req, res) => {
        res.end(trace(`${SUBNET_NEW}::abcd`));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const home = await homeCluster('https-trace');
      const source = `first(url:${stub.url}/down, cloudflare-trace:https://[::1]:${String(port)}/cdn-cgi/trace)`;
      const run = await runCli(['sync', '--source', source], {
        ...home.env(),
        NODE_EXTRA_CA_CERTS: pki.caCert,
      });
      expect(run.code).toBe(0);
      expect(run.result).toMatchObject({
        status: 'updated',
        source: 'cloudflare-trace',
        prefix: `${SUBNET_NEW}::/64`,
        sources: [
          { source: `url:${stub.url}/down`, error: expect.stringMatching(/HTTP 503/) },
          { source: 'cloudflare-trace', answer: `${SUBNET_NEW}::abcd` },
        ],
      });
    } finally {
      server.close();
    }
  });
});
