// Mutation testing of the pure core against the fast suites: `npm run mutate`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'lib/prefix/**/*.ts',
    'lib/plan/**/*.ts',
    'lib/text/**/*.ts',
    'lib/config/**/*.ts',
    'lib/source/answer.ts',
    'lib/source/agreement.ts',
    'lib/source/combinators.ts',
    'lib/source/parse-source.ts',
    'lib/errors/**/*.ts',
    'lib/metrics/**/*.ts',
    'lib/cluster/pool-store.ts',
    'lib/cluster/conflicts.ts',
    'lib/cluster/cilium-blocks.ts',
    'lib/cluster/api-requests.ts',
    'lib/cluster/metallb-version.ts',
    'lib/cluster/metallb.ts',
    'lib/sync/sync-once.ts',
    'lib/sync/run.ts',
    'lib/sync/write-pool.ts',
    'lib/sync/take-pool.ts',
    'lib/sync/detect.ts',
    'lib/sync/run-report.ts',
    'lib/sync/host-part-keeper.ts',
    'functions/shared/http-contract.ts',
    'functions/shared/tick-gate.ts',
    'functions/shared/schedule-tick.ts',
    'functions/shared/shared-runs.ts',
  ],
  concurrency: 2,
  // Jest's ESM mode keeps every module graph it loaded: a fresh runner now and then stays fast.
  maxTestRunnerReuse: 40,
  // The covering unit tests take milliseconds: a mutant that loops forever is called out in seconds.
  timeoutMS: 3_000,
  // Mutants whose code and covering tests did not change since the recorded run keep their result;
  // `npm run mutate -- --force` runs them all again.
  incremental: true,
  incrementalFile: 'mutation/stryker-incremental.json',
  // Module-level constants (the option table, range names) are exercised by every test at once;
  // re-running the whole suite for each would double the run for no new information.
  ignoreStatic: true,
  thresholds: { high: 90, low: 85, break: 85 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.run/mutation/report.html' },
  jsonReporter: { fileName: '.run/mutation/report.json' },
  tempDirName: '.run/stryker-tmp',
  // The scratch folder holds control planes and unpacked image filesystems: nothing a unit test reads.
  ignorePatterns: ['.run'],
  cleanTempDir: 'always',
};
