// The cluster and network tiers' global setup (jest.config.js): one control plane for the run. Jest loads
// global setup outside its module mapper, so the TypeScript dev cluster is loaded with tsx.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const harness = await tsImport('./jest-cluster.ts', import.meta.url);
  globalThis.__metallbDyn6Harness = harness;
  await harness.setup();
}
