// CI's summary of one jest run (scripts/jest-summary.mjs, called by .ci/run): the counts its last
// line gives, which skips count as failures, and each failure named again where a cut-short log
// still shows it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { runProcess } from '../../../devcluster/run-process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'jest-summary-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Assertion {
  status: string;
  ancestorTitles: string[];
  title: string;
  failureMessages: string[];
}
const passed = (title: string): Assertion => ({
  status: 'passed',
  ancestorTitles: ['suite'],
  title,
  failureMessages: [],
});

async function summarize(
  suites: { file: string; status: string; message?: string; assertionResults: Assertion[] }[],
  skips: object[] = [],
) {
  const results = path.join(dir, `results-${String(Math.random()).slice(2)}.json`);
  const skipsFile = `${results}.skips.jsonl`;
  const count = (status: string) =>
    suites.flatMap((s) => s.assertionResults).filter((a) => a.status === status).length;
  writeFileSync(
    results,
    JSON.stringify({
      numPassedTests: count('passed'),
      numFailedTests: count('failed'),
      testResults: suites.map(({ file, ...suite }) => ({ name: path.join(REPO_ROOT, file), ...suite })),
    }),
  );
  writeFileSync(skipsFile, skips.map((s) => JSON.stringify(s)).join('\n'));
  const run = await runProcess(process.execPath, ['scripts/jest-summary.mjs', results, skipsFile], {
    env: { PATH: process.env.PATH ?? '' },
    cwd: REPO_ROOT,
  });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return run.stdout.trimEnd().split('\n');
}

describe("CI's summary of a jest run", () => {
  it('ends with the counts when everything passed', async () => {
    const lines = await summarize([
      { file: 'test/unit/a.test.ts', status: 'passed', assertionResults: [passed('one'), passed('two')] },
    ]);
    expect(lines).toEqual(['2 passed, 0 failed, 0 skipped']);
  });

  it('names each failed test with the opening lines of its failure, colours removed, before the counts', async () => {
    const lines = await summarize([
      {
        file: 'test/network/home-network.test.ts',
        status: 'failed',
        assertionResults: [
          passed('first'),
          {
            status: 'failed',
            ancestorTitles: ['a home network', 'MetalLB v0.13.12'],
            title: 'an ISP outage',
            failureMessages: [
              'Error: \u001b[2mexpect(\u001b[22mreceived).toEqual(expected)\n\n- Expected  - 0\n+ Received  + 1\n\n-   Array []\n+   Array [\n+     17,\n+   ]\n    at x (y.ts:1:1)',
            ],
          },
        ],
      },
    ]);
    expect(lines).toEqual([
      'FAILED test/network/home-network.test.ts › a home network › MetalLB v0.13.12 › an ISP outage: ' +
        'Error: expect(received).toEqual(expected) | - Expected  - 0 | + Received  + 1 | -   Array [] | ' +
        '+   Array [ | +     17, | +   ] | at x (y.ts:1:1)',
      '1 passed, 1 failed, 0 skipped',
    ]);
  });

  it('counts a suite that failed without a failed test of its own (it did not run, or its hooks failed), with its message', async () => {
    const lines = await summarize([
      {
        file: 'test/unit/broken.test.ts',
        status: 'failed',
        message: '  ● Test suite failed to run\n\n    Cannot find module ./gone.js',
        assertionResults: [],
      },
      {
        file: 'test/unit/after-all.test.ts',
        status: 'failed',
        message: 'afterAll threw',
        assertionResults: [passed('ok')],
      },
    ]);
    expect(lines).toEqual([
      'FAILED test/unit/broken.test.ts (the suite failed outside its tests): ● Test suite failed to run | Cannot find module ./gone.js',
      'FAILED test/unit/after-all.test.ts (the suite failed outside its tests): afterAll threw',
      '1 passed, 2 failed, 0 skipped',
    ]);
  });

  it('lists a declared skip with its reason, and counts an undeclared one as failed', async () => {
    const skipped = (ancestor: string, title: string): Assertion => ({
      status: 'skipped',
      ancestorTitles: [ancestor],
      title,
      failureMessages: [],
    });
    const lines = await summarize(
      [
        {
          file: 'test/cluster/cilium.test.ts',
          status: 'passed',
          assertionResults: [
            skipped('Cilium', 'one'),
            skipped('Cilium', 'two'),
            skipped('elsewhere', 'three'),
          ],
        },
      ],
      [
        {
          id: 'plane-too-old',
          reason: 'too old',
          detail: 'needs 1.21',
          file: 'test/cluster/cilium.test.ts',
          title: 'Cilium',
        },
      ],
    );
    expect(lines).toEqual([
      'declared skip [plane-too-old] test/cluster/cilium.test.ts › Cilium: 2 test(s) not run: too old (needs 1.21)',
      'UNDECLARED skip (counted as failed; declare it in test/support/declared-skips.ts): test/cluster/cilium.test.ts › elsewhere › three (skipped)',
      '0 passed, 1 failed, 3 skipped',
    ]);
  });
});
