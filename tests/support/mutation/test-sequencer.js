// @ts-check
// Stryker runs each mutant as a Jest run with a test-name pattern of the tests that cover it. Jest
// still loads every test file to see which of its tests match, which with ~90 suites costs far
// more than the few tests that run. This sequencer leaves out the files that hold none of those
// tests, by the map the dry run recorded (record-test-files.js). Jest runs what `sort` returns.
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
    const files = new Set(
      readRecordedTests(this.mapFile)
        .filter((test) => pattern.test(test.name))
        .map((test) => test.file),
    );
    // A name the dry run never recorded: run every file, as Jest would without this sequencer.
    if (files.size === 0) return tests;
    return tests.filter((test) => files.has(path.relative(process.cwd(), test.path)));
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
