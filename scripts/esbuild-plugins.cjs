'use strict';
// The esbuild plugins of every bundle: scripts/bundle.ts uses them, and serverless-esbuild loads this
// file (`custom.esbuild.plugins` in serverless.yml), so the Lambda artifact is built the same way.
const { clientNodeSubset } = require('./client-node-subset.cjs');

module.exports = () => [clientNodeSubset()];
