// @ts-check
// A Stryker reporter that writes each mutant's result as it comes (reports/mutation/mutants.jsonl),
// where the built-in ones write only once the whole run is over: a run of hours that is stopped
// early still leaves what it measured, and `node tests/support/mutation/summarise.mjs` scores it.
import fs from 'node:fs';
import path from 'node:path';
import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin';

export const MUTANTS_FILE = path.join('reports', 'mutation', 'mutants.jsonl');

class MutantStreamReporter {
  constructor() {
    fs.mkdirSync(path.dirname(MUTANTS_FILE), { recursive: true });
    fs.writeFileSync(MUTANTS_FILE, '');
  }

  /** @param {Readonly<import('@stryker-mutator/api/core').MutantResult>} result */
  onMutantTested(result) {
    const { id, fileName, mutatorName, replacement, location, status, statusReason } = result;
    const file = path.relative(process.cwd(), fileName);
    const line = `${JSON.stringify({ id, file, mutatorName, replacement, location, status, statusReason })}\n`;
    fs.appendFileSync(MUTANTS_FILE, line);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'mutant-stream', MutantStreamReporter)];
