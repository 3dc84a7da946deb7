// Reads one jest --json results file and the declared skips of that run (.ci/run's summary). Prints
// each declared skip with its reason, each undeclared skip, each failed test with the first lines of
// its failure, then "N passed, N failed, N skipped" as its last line. A skipped test counts as failed
// unless a declared skip of its describe block in its file was recorded during the run: only
// test/support/declared-skips.ts may make a test not run.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [resultsFile, skipsFile] = process.argv.slice(2);
if (resultsFile === undefined || skipsFile === undefined) {
  process.stderr.write('usage: node scripts/jest-summary.mjs RESULTS.json SKIPS.jsonl\n');
  process.exit(2);
}
const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
const declared = existsSync(skipsFile)
  ? readFileSync(skipsFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l))
  : [];

const suites = results.testResults.map((suite) => ({
  ...suite,
  file: path.relative(process.cwd(), suite.name),
}));
const titleOf = (a) => [...a.ancestorTitles, a.title].join(' › ');

const covered = new Map(declared.map((d) => [d, 0]));
const undeclared = [];
let skipped = 0;
for (const suite of suites)
  for (const a of suite.assertionResults) {
    if (!['pending', 'skipped', 'todo', 'disabled'].includes(a.status)) continue;
    skipped++;
    const by = declared.find((d) => d.file === suite.file && a.ancestorTitles.includes(d.title));
    if (by === undefined) undeclared.push(`${suite.file} › ${titleOf(a)} (${a.status})`);
    else covered.set(by, covered.get(by) + 1);
  }

// The failure's opening lines, colours removed: CI's log may be cut short in the middle, and this
// summary is at its end.
const opening = (text) =>
  text
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(0, 8)
    .join(' | ')
    .slice(0, 800);
const failures = [];
// Suites that failed without a failed test of their own: jest's count of failed tests leaves them out.
let broken = 0;
for (const suite of suites) {
  const failed = suite.assertionResults.filter((a) => a.status === 'failed');
  for (const a of failed)
    failures.push(`${suite.file} › ${titleOf(a)}: ${opening(a.failureMessages.join('\n'))}`);
  // A suite that failed to run (syntax error, setup failure) or failed in a hook.
  if (suite.status === 'failed' && failed.length === 0) {
    broken++;
    failures.push(`${suite.file} (the suite failed outside its tests): ${opening(suite.message ?? '')}`);
  }
}

const say = (line) => process.stdout.write(`${line}\n`);
for (const [d, n] of covered)
  say(
    `declared skip [${d.id}] ${d.file} › ${d.title}: ${String(n)} test(s) not run: ${d.reason} (${d.detail})`,
  );
for (const u of undeclared)
  say(`UNDECLARED skip (counted as failed; declare it in test/support/declared-skips.ts): ${u}`);
for (const f of failures) say(`FAILED ${f}`);
say(
  `${String(results.numPassedTests)} passed, ${String(results.numFailedTests + broken + undeclared.length)} failed, ${String(skipped)} skipped`,
);
