'use strict';
// The Lambda artifact's esbuild plugins (`custom.esbuild.plugins` in serverless.yml): the same client-node
// subset as every bundle, less what a kubeconfig can only use where other programs run beside ours.
// Lambda's Node runtime has no `az`, `gcloud` or credential plugin to run, and no SOCKS proxy in reach
// of an EKS endpoint; leaving them out keeps the artifact every cold start loads under 300 KB.
const { clientNodeSubset } = require('./client-node-subset.cjs');

const LEFT_OUT = {
  parts: [
    'a socks proxy-url',
    'the azure auth-provider',
    'an exec credential plugin',
    'the gcp auth-provider',
  ],
  why: 'not in the Lambda artifact (it runs no other programs); use a token, a client certificate or EKS',
};

module.exports = () => [clientNodeSubset({ leaveOut: LEFT_OUT })];
