// A validating admission webhook the test apiserver calls on every IPAddressPool update: it lets
// the first `allowed` updates of one namespace's pools through and refuses the rest with a message,
// the way a policy engine (Kyverno, Gatekeeper) or a change freeze would. Pools of other
// namespaces always pass, and failurePolicy Ignore keeps other tests unaffected if it is gone.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';

export const REFUSAL = 'IPAddressPool edits are frozen by policy';

export interface PoolWebhook {
  /** Let `n` more updates through in the namespace, then refuse every one; Infinity to stop refusing. */
  refuseAfter(n: number): void;
  /** Updates of the namespace's pools the webhook saw, allowed or not. */
  readonly seen: { allowed: boolean }[];
  remove(): Promise<void>;
}

interface AdmissionReview {
  request: { uid: string; namespace?: string };
}

export async function installPoolWebhook(
  kc: KubeConfig,
  certDir: string,
  namespace: string,
): Promise<PoolWebhook> {
  let budget = Infinity;
  const seen: { allowed: boolean }[] = [];
  const server = https.createServer(
    {
      cert: readFileSync(path.join(certDir, 'apiserver.crt')),
      key: readFileSync(path.join(certDir, 'apiserver.key')),
    },
    (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as AdmissionReview;
        const ours = review.request.namespace === namespace;
        const allowed = !ours || budget-- > 0;
        if (ours) seen.push({ allowed });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: {
              uid: review.request.uid,
              allowed,
              ...(allowed ? {} : { status: { code: 403, message: REFUSAL } }),
            },
          }),
        );
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const name = `metallb-dyn6-test-freeze-${namespace}`;
  await api.createValidatingWebhookConfiguration({
    body: {
      metadata: { name },
      webhooks: [
        {
          name: 'freeze.metallb-dyn6.test',
          clientConfig: {
            url: `https://127.0.0.1:${String(port)}/validate`,
            caBundle: readFileSync(path.join(certDir, 'ca.crt')).toString('base64'),
          },
          rules: [
            {
              apiGroups: ['metallb.io'],
              apiVersions: ['*'],
              operations: ['UPDATE'],
              resources: ['ipaddresspools'],
            },
          ],
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 5,
        },
      ],
    },
  });
  return {
    refuseAfter(n) {
      budget = n;
    },
    seen,
    async remove() {
      await api.deleteValidatingWebhookConfiguration({ name });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
