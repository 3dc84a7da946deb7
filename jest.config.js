// The test tiers (docs/testing.md): the top-level folder under test/ is the tier, decided by what a
// suite needs; subfolders are subjects. `npm test` runs every tier; `npm run test:unit` the unit tier
// alone (jest.unit.config.js). A project's global setup runs only when one of its suites is selected,
// so the control plane starts only for the cluster and network tiers.

const base = {
  rootDir: import.meta.dirname,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
    ],
  },
  // Sources import siblings as './x.js' (NodeNext); jest resolves the .ts file behind it.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** Node and servers on 127.0.0.1: no control plane, no root, no global setup. */
export const unit = {
  ...base,
  displayName: 'unit',
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
  testTimeout: 30_000,
};

// One control plane for the whole run (devcluster/): both tiers name the same global setup, which
// jest runs once.
const controlPlane = {
  globalSetup: '<rootDir>/devcluster/global-setup.mjs',
  globalTeardown: '<rootDir>/devcluster/global-teardown.mjs',
  testTimeout: 120_000,
};

/** The shared control plane (or one of the suite's own), as an unprivileged user could run it. */
export const cluster = {
  ...base,
  ...controlPlane,
  displayName: 'cluster',
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
};

/** Root: network namespaces, a mount namespace, the kernel's addresses and routes (+ the control plane). */
export const network = {
  ...base,
  ...controlPlane,
  displayName: 'network',
  testMatch: ['<rootDir>/test/network/**/*.test.ts'],
};

/** @type {import('jest').Config} */
export default {
  projects: [unit, cluster, network],
  // jest-circus reads the timeout from the run's configuration, never a project's: under `npm test`
  // every tier gets the control-plane tiers' (the unit tier's own applies to `npm run test:unit`).
  testTimeout: controlPlane.testTimeout,
  // Two cores: one worker per core, sharing one control plane.
  maxWorkers: 2,
};
