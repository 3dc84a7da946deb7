// Stand-ins for the AWS endpoints we cannot reach from here, as real HTTP servers on 127.0.0.1:
// EKS DescribeCluster, and an EKS-style token authenticator the kube-apiserver calls as its
// authentication webhook. The authenticator checks the presigned STS URL's SigV4 signature itself,
// with the test key, the way STS would — independently of the signing library under test.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
export const TEST_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const TEST_ACCOUNT = '111122223333';

interface Server {
  url: string;
  requests: { method: string; path: string; authorization?: string }[];
  close(): Promise<void>;
}

async function serve(
  handler: (req: http.IncomingMessage, body: string) => { status: number; body: unknown },
): Promise<Server> {
  const requests: Server['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
      });
      const answer = handler(req, body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** EKS's REST API, GET /clusters/{name}, answering the real DescribeCluster shape for one cluster. */
export function startDescribeClusterStub(cluster: {
  name: string;
  server: string;
  caPem: string;
}): Promise<Server> {
  return serve((req) => {
    if (req.method !== 'GET' || req.url !== `/clusters/${cluster.name}`) {
      return { status: 404, body: { message: `No cluster found for name: ${req.url ?? ''}.` } };
    }
    if (!(req.headers.authorization ?? '').startsWith(`AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY}/`)) {
      return { status: 403, body: { message: 'The security token included in the request is invalid.' } };
    }
    return {
      status: 200,
      body: {
        cluster: {
          name: cluster.name,
          arn: `arn:aws:eks:eu-central-1:${TEST_ACCOUNT}:cluster/${cluster.name}`,
          endpoint: cluster.server,
          status: 'ACTIVE',
          version: '1.20',
          certificateAuthority: { data: Buffer.from(cluster.caPem).toString('base64') },
        },
      },
    };
  });
}

const awsEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Why an EKS token is not valid for `clusterName` right now, or undefined if it is. */
export function verifyEksToken(token: string, clusterName: string, now = Date.now()): string | undefined {
  if (!token.startsWith('k8s-aws-v1.')) return 'not an EKS token';
  let url: URL;
  try {
    url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
  } catch {
    return 'token does not hold a URL';
  }
  const q = url.searchParams;
  if (!/^sts\.[a-z0-9-]+\.amazonaws\.com$/.test(url.hostname) || url.pathname !== '/')
    return 'not an STS URL';
  if (q.get('Action') !== 'GetCallerIdentity') return 'not GetCallerIdentity';
  const signedHeaders = q.get('X-Amz-SignedHeaders') ?? '';
  if (!signedHeaders.split(';').includes('x-k8s-aws-id')) return 'x-k8s-aws-id is not signed';
  const [accessKey, date, region, service] = (q.get('X-Amz-Credential') ?? '').split('/');
  if (accessKey !== TEST_ACCESS_KEY || service !== 'sts' || region === undefined || date === undefined)
    return 'unknown credential';
  const amzDate = q.get('X-Amz-Date') ?? '';
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(amzDate);
  if (m === null) return 'bad X-Amz-Date';
  const signedAt = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  if (now - signedAt > 15 * 60_000) return 'expired';
  if (signedAt - now > 5 * 60_000) return 'signed in the future';

  const params = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${awsEncode(k)}=${awsEncode(v)}`).join('&');
  const headerValues: Record<string, string> = { host: url.host, 'x-k8s-aws-id': clusterName };
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${headerValues[h] ?? ''}\n`)
    .join('');
  // STS, unlike S3, signs the (empty) payload's hash even in a presigned URL.
  const emptyPayload = createHash('sha256').update('').digest('hex');
  const canonicalRequest = ['GET', '/', canonicalQuery, canonicalHeaders, signedHeaders, emptyPayload].join(
    '\n',
  );
  const scope = `${date}/${region}/sts/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${TEST_SECRET_KEY}`, date), region), 'sts'), 'aws4_request');
  const expected = hmac(key, stringToSign).toString('hex');
  return expected === q.get('X-Amz-Signature') ? undefined : 'signature does not match';
}

/**
 * The kube-apiserver's token webhook: answers TokenReviews the way EKS maps an IAM role through an
 * access entry (username from the role, the access entry's Kubernetes groups).
 */
export async function startEksAuthenticator(
  clusterName: string,
  groups: string[],
): Promise<Server & { rejected: string[] }> {
  const rejected: string[] = [];
  const server = await serve((_req, body) => {
    const review = JSON.parse(body) as { apiVersion: string; spec: { token: string } };
    const problem = verifyEksToken(review.spec.token, clusterName);
    if (problem !== undefined) rejected.push(problem);
    return {
      status: 200,
      body: {
        apiVersion: review.apiVersion,
        kind: 'TokenReview',
        status:
          problem === undefined
            ? {
                authenticated: true,
                user: {
                  username: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/metallb-dyn6/lambda`,
                  uid: 'aws-iam-authenticator:111122223333:AROAEXAMPLE',
                  groups: [...groups, 'system:authenticated'],
                },
              }
            : { authenticated: false, error: problem },
      },
    };
  });
  return Object.assign(server, { rejected });
}

export function webhookKubeconfig(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: eks-authenticator',
    '  cluster:',
    `    server: ${url}/authenticate`,
    'users:',
    '- name: kube-apiserver',
    'contexts:',
    '- name: webhook',
    '  context:',
    '    cluster: eks-authenticator',
    '    user: kube-apiserver',
    'current-context: webhook',
    '',
  ].join('\n');
}
