// @ts-check
// Stryker's dry run, only (stryker.config.mjs): records which file each test lives in, so that a
// mutant's run loads only the files of the tests that cover it (see test-sequencer.js).
/* global afterEach, expect -- Jest's globals: this is a setup file. */
const fs = require('node:fs');
const path = require('node:path');

// Set in stryker.config.mjs, as a Jest global.
const testFilesMap = /** @type {{ MUTATION_TEST_FILES_MAP?: string }} */ (globalThis).MUTATION_TEST_FILES_MAP;
const inMutantRun = process.env.__STRYKER_ACTIVE_MUTANT__ !== undefined;

if (testFilesMap !== undefined && !inMutantRun) {
  afterEach(() => {
    const { currentTestName, testPath } = expect.getState();
    if (currentTestName === undefined || testPath === undefined) return;
    const file = path.relative(process.cwd(), testPath);
    fs.appendFileSync(testFilesMap, `${JSON.stringify({ name: currentTestName, file })}\n`);
  });
}
