// The bearer token EKS accepts for an IAM identity (what `aws eks get-token` prints): "k8s-aws-v1."
// + base64url of a presigned STS GetCallerIdentity URL whose signed headers include x-k8s-aws-id.
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** STS accepts a presigned GetCallerIdentity for 15 minutes after its X-Amz-Date. */
export const TOKEN_VALIDITY_MS = 15 * 60_000;
/** Renew a minute early, as aws-iam-authenticator does. */
export const TOKEN_RENEW_AFTER_MS = TOKEN_VALIDITY_MS - 60_000;

export interface EksToken {
  token: string;
  /** When to stop using it. */
  renewAt: number;
}

export async function eksToken(
  clusterName: string,
  region: string,
  credentials: AwsCredentialIdentity,
  signingDate: Date = new Date(),
): Promise<EksToken> {
  const hostname = `sts.${region}.amazonaws.com`;
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [CLUSTER_ID_HEADER]: clusterName },
  });
  const signed = await signer.presign(request, { expiresIn: 60, signingDate });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return {
    token: `${TOKEN_PREFIX}${Buffer.from(url).toString('base64url')}`,
    renewAt: signingDate.getTime() + TOKEN_RENEW_AFTER_MS,
  };
}
