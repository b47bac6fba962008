// @ts-check
// Stryker runs each mutant as a Jest run with a test-name pattern of the tests that cover it. Jest
// still loads every test file to see which of its tests match, which with ~90 suites costs far
// more than the few tests that run. This sequencer leaves out the files that hold none of those
// tests, by the map the dry run recorded (record-test-files.js). Jest runs what `sort` returns, in
// that order.
const fs = require('node:fs');
const path = require('node:path');

/** @type {Array<{ name: string, file: string }> | undefined} */
let recordedTests;

/** @param {string} mapFile */
function readRecordedTests(mapFile) {
  if (recordedTests === undefined) {
    recordedTests = fs
      .readFileSync(mapFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  }
  return recordedTests;
}

class MutationTestSequencer {
  /** @param {{ globalConfig: { testNamePattern?: string }, contexts: Array<{ config: { globals: Record<string, unknown> } }> }} options */
  constructor({ globalConfig, contexts }) {
    this.testNamePattern = globalConfig.testNamePattern;
    const mapFile = contexts[0]?.config.globals.MUTATION_TEST_FILES_MAP;
    this.mapFile = typeof mapFile === 'string' ? mapFile : undefined;
  }

  /**
   * @template {{ path: string }} T
   * @param {T[]} tests
   * @returns {T[]}
   */
  sort(tests) {
    const inMutantRun = process.env.__STRYKER_ACTIVE_MUTANT__ !== undefined;
    if (!inMutantRun || !this.testNamePattern || !this.mapFile || !fs.existsSync(this.mapFile)) return tests;
    // Matched as Jest matches it: the same pattern, case-insensitive, against each full name.
    const pattern = new RegExp(this.testNamePattern, 'i');
    /** @type {Map<string, number>} How many of the mutant's covering tests each file holds. */
    const coveringTests = new Map();
    for (const test of readRecordedTests(this.mapFile)) {
      if (pattern.test(test.name)) coveringTests.set(test.file, (coveringTests.get(test.file) ?? 0) + 1);
    }
    // A name the dry run never recorded: run every file, as Jest would without this sequencer.
    if (coveringTests.size === 0) return tests;
    const count = (/** @type {T} */ test) => coveringTests.get(path.relative(process.cwd(), test.path)) ?? 0;
    // The file with the most covering tests first: the likeliest to fail, which ends the run
    // (bailing-runner.js).
    return tests.filter((test) => count(test) > 0).sort((a, b) => count(b) - count(a));
  }

  cacheResults() {}

  /**
   * @template T
   * @param {T[]} tests
   */
  allFailedTests(tests) {
    return tests;
  }
}

module.exports = MutationTestSequencer;
