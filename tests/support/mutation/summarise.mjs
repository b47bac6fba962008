// @ts-check
// Scores what a mutation run has written so far (stream-reporter.mjs), per folder and per file, as
// Stryker does: detected (killed or timed out) over detected and undetected (survived or not
// covered). Mutants that did not compile or were ignored do not count.
// `node tests/support/mutation/summarise.mjs [--survivors | --survivor-ranges] [saved-run.jsonl ...]`
// --survivor-ranges prints the undetected mutants as one `--mutate` argument, to re-run only
// them against more suites (stryker run --mutate "$(node … --survivor-ranges run.jsonl)"), as one range
// of whole lines per file. Line numbers hold only while the mutated files are unchanged since the run.
// Given several saved runs (copies of mutants.jsonl, say one per file with its own suites), it
// scores them as one: a mutant that any run detected is detected, since the whole suite holds
// every run's tests (see `rank` for the rest).
import fs from 'node:fs';
import path from 'node:path';
import { MUTANTS_FILE } from './stream-reporter.mjs';

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const files = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));

/**
 * The same mutant in different runs: same place, same change.
 * @param {{ file: string, location: { start: object, end: object }, mutatorName: string, replacement: string }} result
 */
const mutantKey = ({ file, location, mutatorName, replacement }) =>
  JSON.stringify([file, location.start, location.end, mutatorName, replacement]);
/**
 * Which run's status stands for the whole suite: detected by any run; else covered by a test and
 * survived; else reached only while suites load (static, not counted), as on the PostgreSQL
 * project the listener's connecting is; only else not covered at all.
 * @param {string} status
 */
const rank = (status) => (DETECTED.has(status) ? 3 : status === 'Survived' ? 2 : status === 'NoCoverage' ? 0 : 1);

/** @type {Map<string, any>} */
const merged = new Map();
for (const file of files.length > 0 ? files : [MUTANTS_FILE]) {
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const result = JSON.parse(line);
    const key = mutantKey(result);
    const known = merged.get(key);
    if (known === undefined || rank(result.status) > rank(known.status)) merged.set(key, result);
  }
}
const results = [...merged.values()];

if (process.argv.includes('--survivor-ranges')) {
  // One range of whole lines per file, from its first undetected mutant to its last: Stryker keeps
  // only the last range it is given for a file, and --mutate and the results count columns
  // differently (a range that misses a mutant's columns by one leaves it out). The other mutants
  // in that range run again too.
  const undetected = results.filter((each) => UNDETECTED.has(each.status));
  /** @type {Map<string, { first: number, last: number }>} */
  const lines = new Map();
  for (const { file, location } of undetected) {
    const known = lines.get(file) ?? { first: location.start.line, last: location.end.line };
    lines.set(file, {
      first: Math.min(known.first, location.start.line),
      last: Math.max(known.last, location.end.line),
    });
  }
  process.stderr.write(`${undetected.length} undetected mutants\n`);
  console.log([...lines].map(([file, { first, last }]) => `${file}:${first}-${last}`).join(','));
  process.exit(0);
}

/** @type {Map<string, { detected: number, undetected: number, other: number }>} */
const tallies = new Map();
for (const result of results) {
  for (const key of [path.dirname(result.file), result.file]) {
    const tally = tallies.get(key) ?? { detected: 0, undetected: 0, other: 0 };
    if (DETECTED.has(result.status)) tally.detected += 1;
    else if (UNDETECTED.has(result.status)) tally.undetected += 1;
    else tally.other += 1;
    tallies.set(key, tally);
  }
}

console.log('score    detected  undetected  not counted  where');
for (const [where, { detected, undetected, other }] of [...tallies].sort(([a], [b]) => a.localeCompare(b))) {
  const valid = detected + undetected;
  const score = valid === 0 ? '   -  ' : `${((100 * detected) / valid).toFixed(1).padStart(5)}%`;
  const isFolder = !where.endsWith('.ts');
  console.log(
    `${score}  ${String(detected).padStart(8)}  ${String(undetected).padStart(10)}  ${String(other).padStart(11)}  ${isFolder ? `${where}/` : `  ${where}`}`,
  );
}

if (process.argv.includes('--survivors')) {
  for (const result of results.filter((each) => UNDETECTED.has(each.status))) {
    // Both 1-based, as an editor counts them.
    const { line, column } = result.location.start;
    console.log(`\n${result.status} ${result.mutatorName} ${result.file}:${line}:${column}\n  ${result.replacement}`);
  }
}
