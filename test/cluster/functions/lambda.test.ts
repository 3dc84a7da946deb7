import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig, CustomObjectsApi } from '@kubernetes/client-node';
import { eksToken, TOKEN_PREFIX } from '../../../functions/lambda/eks-token.js';
import { kubeConfigProvider } from '../../../functions/lambda/kube-credentials.js';
import { packageLambda } from '../../../scripts/package-lambda.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { createPool, installMetalLB, POOL, readPool } from '../../../devcluster/metallb-fixture.js';
import { startTestCluster, type TestCluster } from '../../../devcluster/test-cluster.js';
import {
  startDescribeClusterStub,
  startEksAuthenticator,
  TEST_ACCESS_KEY,
  TEST_SECRET_KEY,
  webhookKubeconfig,
} from '../../support/aws-stubs.js';
import { apiOutcome } from '../../support/api-outcome.js';
import { TEST_HTTP_TOKEN } from '../../support/http-client.js';
import { json, startHttpStub, type HttpStub } from '../../support/http-stub.js';
import { runToSuccess } from '../../../devcluster/run-process.js';
import { brokenKubeconfig, leakedPieces, TEST_SECRET } from '../../support/secrets.js';
import { kubectl } from '../../support/kubectl.js';
import { range, SUBNET_NEW, SUBNET_OLD } from '../../../devcluster/home-cluster.js';

const CLUSTER = 'home-lab';
const REGION = 'eu-central-1';
const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };

const scheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '111122223333',
  time: '2026-11-26T13:00:00Z',
  region: REGION,
  resources: [`arn:aws:events:${REGION}:111122223333:rule/metallb-dyn6-dev-SyncEventsRuleSchedule1`],
  detail: {},
};

function httpApiEvent(headers: Record<string, string>, body: string) {
  return {
    version: '2.0',
    routeKey: 'POST /sync',
    rawPath: '/sync',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'user-agent': 'dhcpcd-hook/1.0', ...headers },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-central-1.amazonaws.com',
      http: {
        method: 'POST',
        path: '/sync',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'dhcpcd-hook/1.0',
      },
      requestId: 'id-1',
      routeKey: 'POST /sync',
      stage: '$default',
      time: '26/Nov/2026:13:00:00 +0000',
      timeEpoch: 1795698000000,
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  };
}

describe('AWS Lambda package against an EKS-like cluster', () => {
  let cluster: TestCluster;
  let authenticator: Awaited<ReturnType<typeof startEksAuthenticator>>;
  let eks: Awaited<ReturnType<typeof startDescribeClusterStub>>;
  let myIp: HttpStub;
  let work: string;

  beforeAll(async () => {
    work = path.join(REPO_ROOT, '.run', `lambda-${String(process.pid)}`);
    mkdirSync(work, { recursive: true });
    // The real packaging command, offline: the artifact is what AWS would run.
    packageLambda(work);

    authenticator = await startEksAuthenticator(CLUSTER, ['metallb-dyn6']);
    const webhookConfig = path.join(work, 'webhook.kubeconfig');
    writeFileSync(webhookConfig, webhookKubeconfig(authenticator.url));
    cluster = await startTestCluster({
      apiserverArgs: [
        `--authentication-token-webhook-config-file=${webhookConfig}`,
        '--authentication-token-webhook-cache-ttl=0s',
      ],
    });
    await installMetalLB(cluster.admin, { version: 'v0.14.9' });
    await createPool(cluster.admin, 'metallb-system', 'ipv6-pool', {
      addresses: ['192.168.178.240/28', range(SUBNET_OLD)],
    });
    // The EKS overlay as a user would apply it: the Role bound to the access entry's group.
    kubectl(['apply', '-k', path.join(REPO_ROOT, 'deploy/overlays/eks')], {
      kubeconfig: cluster.adminKubeconfig,
    });
    eks = await startDescribeClusterStub({ name: CLUSTER, server: cluster.server, caPem: cluster.caPem });
    // serverless.yml's default source, my-ip, in its wire format: the bundle's HTTP client at work.
    myIp = await startHttpStub({ '/ip.json': json({ success: true, ip: `${SUBNET_NEW}::9`, type: 'IPv6' }) });
  });
  afterAll(async () => {
    await cluster.stop();
    await authenticator.close();
    await eks.close();
    await myIp.close();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Invokes the packaged handler in a fresh Node process, one event after another (a warm
   * container). Asynchronously: the authenticator and the simulated kubelet live in this process.
   */
  async function invoke(fn: 'sync' | 'http', events: unknown[], env: Record<string, string> = {}) {
    return (await invokeWithLogs(fn, events, env)).results;
  }

  /** The results (or what each invocation threw) and everything the function logged. */
  async function invokeWithLogs(
    fn: 'sync' | 'http',
    events: unknown[],
    env: Record<string, string> = {},
  ): Promise<{ results: unknown[]; logs: string }> {
    const handler = path.join(work, fn, 'functions/lambda/handler.mjs');
    const runner = `const { handler } = await import(${JSON.stringify(handler)}); const out = []; for (const e of JSON.parse(process.argv[1])) { try { out.push(await handler(e, {})); } catch (err) { out.push({ thrown: err.name, message: err.message }); } } process.stdout.write(JSON.stringify(out));`;
    const { stdout, stderr } = await runToSuccess(
      process.execPath,
      ['--input-type=module', '-e', runner, JSON.stringify(events)],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
          AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
          AWS_ENDPOINT_URL_EKS: eks.url,
          METALLB_DYN6_EKS_CLUSTER: CLUSTER,
          METALLB_DYN6_HOST_RANGE: '::1000-::1999',
          METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
          METALLB_DYN6_SOURCE: 'my-ip',
          METALLB_DYN6_MY_IP_URL: `${myIp.url}/ip.json`,
          METALLB_DYN6_HTTP_TOKEN: TEST_HTTP_TOKEN,
          ...env,
        },
      },
    );
    return { results: JSON.parse(stdout) as unknown[], logs: stderr };
  }

  it('syncs on the EventBridge schedule through DescribeCluster and an IAM token the apiserver accepts', async () => {
    const describesBefore = eks.requests.length;
    const [first, second] = await invoke('sync', [scheduledEvent, scheduledEvent]);
    expect(first).toMatchObject({
      status: 'updated',
      trigger: 'schedule',
      source: 'my-ip',
      after: ['192.168.178.240/28', range(SUBNET_NEW)],
    });
    expect(second).toMatchObject({ status: 'unchanged', apiRequests: 1 });
    // Endpoint, CA and token are cached across warm invocations.
    expect(eks.requests.length - describesBefore).toBe(1);
    expect(eks.requests.at(-1)).toMatchObject({ method: 'GET', path: `/clusters/${CLUSTER}` });
    expect(authenticator.rejected).toEqual([]);
    expect((await readPool(cluster.admin, 'metallb-system', 'ipv6-pool')).spec.addresses).toEqual([
      '192.168.178.240/28',
      range(SUBNET_NEW),
    ]);
  });

  it('serves POST /sync through API Gateway: 401 without the token, 200 with it and a pushed prefix', async () => {
    const [refused, pushed] = (await invoke('http', [
      httpApiEvent({}, '{}'),
      httpApiEvent(
        { authorization: `Bearer ${TEST_HTTP_TOKEN}` },
        JSON.stringify({ prefix: '2a02:8071:abcd::/48' }),
      ),
    ])) as { statusCode: number; body: string }[];
    expect(refused?.statusCode).toBe(401);
    expect(pushed?.statusCode).toBe(200);
    expect(JSON.parse(pushed?.body ?? '{}')).toMatchObject({
      status: 'updated',
      trigger: 'http-push',
      prefix: '2a02:8071:abcd::/64',
    });
  });

  it('answers an event of another kind with a failed document at stage request, syncing nothing', async () => {
    const [other] = await invoke('sync', [{ source: 'aws.s3', 'detail-type': 'Object Created' }]);
    expect(other).toEqual({
      pool: 'metallb-system/ipv6-pool',
      status: 'failed',
      stage: 'request',
      error: 'unsupported event: expected an EventBridge schedule or an HTTP API (2.0) request',
      apiRequests: 0,
      durationMs: 0,
    });
  });

  it('answers every HTTP call 500 while the function has no token, as any bad configuration', async () => {
    const [answer] = (await invoke(
      'http',
      [httpApiEvent({ authorization: `Bearer ${TEST_HTTP_TOKEN}` }, '{}')],
      { METALLB_DYN6_HTTP_TOKEN: '' },
    )) as { statusCode: number; body: string }[];
    expect(answer?.statusCode).toBe(500);
    expect(JSON.parse(answer?.body ?? '{}')).toMatchObject({
      status: 'failed',
      stage: 'config',
      trigger: 'http',
    });
  });

  it('throws a failed scheduled sync, so Lambda counts an error, with a clear message', async () => {
    const [result] = await invoke('sync', [scheduledEvent], { METALLB_DYN6_EKS_CLUSTER: 'no-such-cluster' });
    expect(result).toEqual({
      thrown: 'ScheduledSyncFailed',
      message: expect.stringMatching(
        /^metallb-dyn6 sync failed at config: EKS DescribeCluster no-such-cluster in eu-central-1 failed: No cluster found/,
      ),
    });
  });

  it('never shows a piece of the token of a kubeconfig it cannot parse: not thrown, answered or logged', async () => {
    const env = { METALLB_DYN6_EKS_CLUSTER: '', METALLB_DYN6_KUBECONFIG_DATA: brokenKubeconfig(TEST_SECRET) };
    const scheduled = await invokeWithLogs('sync', [scheduledEvent], env);
    const http = await invokeWithLogs(
      'http',
      [httpApiEvent({ authorization: `Bearer ${TEST_HTTP_TOKEN}` }, '{}')],
      env,
    );
    expect(scheduled.results).toEqual([
      {
        thrown: 'ScheduledSyncFailed',
        message: expect.stringMatching(
          /at config: METALLB_DYN6_KUBECONFIG_DATA is not a readable kubeconfig: bad indentation of a mapping entry \(7:4\)$/,
        ),
      },
    ]);
    // Unusable credentials are the deployment's fault: the same 500 as any bad configuration.
    expect(http.results).toEqual([expect.objectContaining({ statusCode: 500 })]);
    expect(
      leakedPieces(
        TEST_SECRET,
        JSON.stringify(scheduled.results),
        JSON.stringify(http.results),
        scheduled.logs,
        http.logs,
      ),
    ).toEqual([]);
  });

  it('says an inline kubeconfig asking for a credential plugin needs what the artifact leaves out, and changes nothing', async () => {
    const before = await readPool(cluster.admin, 'metallb-system', 'ipv6-pool');
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: { server: '${cluster.server}', insecure-skip-tls-verify: true } }]`,
      'contexts: [{ name: c, context: { cluster: c, user: u } }]',
      'current-context: c',
      'users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: aws-iam-authenticator } } }]',
    ].join('\n');
    const [result] = await invoke('sync', [scheduledEvent], {
      METALLB_DYN6_EKS_CLUSTER: '',
      METALLB_DYN6_KUBECONFIG_DATA: kubeconfig,
    });
    expect(result).toEqual({
      thrown: 'ScheduledSyncFailed',
      message: expect.stringContaining(
        'an exec credential plugin: not in the Lambda artifact (it runs no other programs); use a token, a client certificate or EKS',
      ),
    });
    const after = await readPool(cluster.admin, 'metallb-system', 'ipv6-pool');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('caches the cluster and its token, and renews the token a minute before it expires', async () => {
    const env = {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_ENDPOINT_URL_EKS: eks.url,
      METALLB_DYN6_EKS_CLUSTER: CLUSTER,
    };
    // The SDK reads its endpoint and credentials from the environment, as in Lambda.
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      let clock = Date.now();
      const provider = kubeConfigProvider(env, () => clock);
      const describes = eks.requests.length;
      const first = await provider();
      clock += 13 * 60_000;
      expect(await provider()).toBe(first);
      clock += 60_000 + 1;
      const renewed = await provider();
      expect(renewed).not.toBe(first);
      expect(renewed.getCurrentUser()?.token).toMatch(new RegExp(`^${TOKEN_PREFIX.replace('.', '\\.')}`));
      expect(renewed.getCurrentUser()?.token).not.toBe(first.getCurrentUser()?.token);
      expect(eks.requests.length - describes).toBe(1);
    } finally {
      process.env = saved;
    }
  });

  describe('the EKS token, as the real apiserver judges it', () => {
    async function getPool(token: string): Promise<number | undefined> {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          { name: 'c', server: cluster.server, caData: Buffer.from(cluster.caPem).toString('base64') },
        ],
        users: [{ name: 'u', token }],
        contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
        currentContext: 'c',
      });
      return apiOutcome(
        kc
          .makeApiClient(CustomObjectsApi)
          .getNamespacedCustomObject({ ...POOL, namespace: 'metallb-system', name: 'ipv6-pool' }),
      );
    }

    it('accepts a fresh token for this cluster', async () => {
      expect(await getPool((await eksToken(CLUSTER, REGION, CREDENTIALS)).token)).toBe(200);
    });

    it("refuses a tampered, an expired, another cluster's and a wrongly keyed token with 401", async () => {
      const { token } = await eksToken(CLUSTER, REGION, CREDENTIALS);
      const url = Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString();
      const tampered = `k8s-aws-v1.${Buffer.from(url.replace('Action=GetCallerIdentity', 'Action=GetCallerIdentity&Extra=1')).toString('base64url')}`;
      const expired = (await eksToken(CLUSTER, REGION, CREDENTIALS, new Date(Date.now() - 16 * 60_000)))
        .token;
      const otherCluster = (await eksToken('other-cluster', REGION, CREDENTIALS)).token;
      const wrongKey = (await eksToken(CLUSTER, REGION, { ...CREDENTIALS, secretAccessKey: 'not-the-key' }))
        .token;
      const rejectedBefore = authenticator.rejected.length;
      expect([
        await getPool(tampered),
        await getPool(expired),
        await getPool(otherCluster),
        await getPool(wrongKey),
      ]).toEqual([401, 401, 401, 401]);
      expect(authenticator.rejected.slice(rejectedBefore)).toEqual([
        'signature does not match',
        'expired',
        'signature does not match',
        'signature does not match',
      ]);
    });
  });
});
