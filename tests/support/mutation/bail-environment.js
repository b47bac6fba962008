// @ts-check
// Stryker's Jest runner cannot make Jest stop at the first failure (Jest has no programmatic
// bail), so a mutant that breaks a line every suite reaches ran all of its covering tests, minutes
// each, when one failure already decides it is killed. This environment skips the rest of a
// mutant's run once one of its tests has failed: the tests still to start in this file, and
// every test of the files after it, whose beforeAll (a PGlite and an app) then never runs.
const { TestEnvironment } = require('jest-environment-node');

/** The mutant whose run has had a failing test; kept across the files of one Jest run.
 * @type {string | undefined} */
let failedMutant;

/** @param {import('@jest/types').Circus.DescribeBlock} block */
function skipEveryTest(block) {
  for (const child of block.children) {
    if (child.type === 'describeBlock') skipEveryTest(child);
    else child.mode = 'skip';
  }
}

class BailingTestEnvironment extends TestEnvironment {
  /**
   * @param {import('@jest/types').Circus.Event} event
   * @param {import('@jest/types').Circus.State} state
   */
  handleTestEvent(event, state) {
    const activeMutant = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (activeMutant !== undefined) {
      const decided = failedMutant === activeMutant;
      if (event.name === 'run_start' && decided) skipEveryTest(state.rootDescribeBlock);
      if (event.name === 'test_start' && decided) event.test.mode = 'skip';
      if (event.name === 'test_done' && event.test.errors.length > 0) failedMutant = activeMutant;
    }
  }
}

module.exports = BailingTestEnvironment;
