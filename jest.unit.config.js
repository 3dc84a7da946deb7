// The fast suites: pure code only, no control plane (no global setup). `npm run test:unit` and the
// mutation run (`npm run mutate`) use it; `npm test` runs these and every other suite.
import base from './jest.config.js';

const rest = { ...base };
delete rest.globalSetup;
delete rest.globalTeardown;

/** @type {import('jest').Config} */
export default {
  ...rest,
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
  testTimeout: 10_000,
};
