// What the mutation run (`npm run mutate`, stryker.config.mjs) tests mutants against: the pure-code
// suites directly in test/unit/ (the record in mutation/ keys on their paths), without the unit
// tier's subject folders, whose real servers, processes and builds would slow every mutant down.
import { unit } from './jest.config.js';

const rest = { ...unit };
delete rest.displayName;

/** @type {import('jest').Config} */
export default {
  ...rest,
  testMatch: ['<rootDir>/test/unit/*.test.ts'],
  testTimeout: 10_000,
  maxWorkers: 2,
};
