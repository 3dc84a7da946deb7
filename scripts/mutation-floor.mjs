// Fails when any mutated file scores below the floor: Stryker's own break threshold is only for
// the whole run, and one well-tested file must not hide a poorly tested one.
import { readFileSync } from 'node:fs';

const FLOOR = 75;
const report = JSON.parse(readFileSync(process.argv[2] ?? '.run/mutation/report.json', 'utf8'));
const rows = Object.entries(report.files).map(([file, { mutants }]) => {
  const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
  const detected = count('Killed', 'Timeout');
  const valid = detected + count('Survived', 'NoCoverage');
  return { file, score: valid === 0 ? 100 : (100 * detected) / valid, valid };
});
const low = rows.filter((r) => r.score < FLOOR);
for (const r of low)
  process.stderr.write(`mutation score of ${r.file} is ${r.score.toFixed(1)} %, below ${FLOOR} %\n`);
process.stdout.write(`${rows.length - low.length} of ${rows.length} mutated files at or above ${FLOOR} %\n`);
process.exit(low.length === 0 ? 0 : 1);
