// Sets values in a chart's values.yaml, keeping its comments and order: `helm show values` of the
// published chart is what users read, so it must stay the documented file with only the release's
// image filled in.
//
// Usage: tsx scripts/release/set-values.ts VALUES_FILE dotted.key=value...
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

export function setValues(file: string, assignments: Record<string, string>): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  for (const [key, value] of Object.entries(assignments)) doc.setIn(key.split('.'), value);
  writeFileSync(file, doc.toString());
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, ...pairs] = process.argv.slice(2);
  if (file === undefined || pairs.length === 0)
    throw new Error('usage: set-values.ts VALUES_FILE dotted.key=value...');
  const assignments: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`not key=value: ${pair}`);
    assignments[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  setValues(file, assignments);
}
