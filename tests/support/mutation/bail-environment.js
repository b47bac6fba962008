// @ts-check
// Stryker's Jest runner cannot make Jest stop at the first failure (Jest has no programmatic
// bail), so a mutant that breaks a line every suite reaches ran all of its covering tests, minutes
// each, when one failure already decides it is killed. This environment skips the tests still to
// start in the file of a mutant's first failing test; bailing-runner.js starts no file after it.
const { TestEnvironment } = require('jest-environment-node');

/** The mutant whose run has had a failing test.
 * @type {string | undefined} */
let failedMutant;

class BailingTestEnvironment extends TestEnvironment {
  /** @param {import('@jest/types').Circus.Event} event */
  handleTestEvent(event) {
    const activeMutant = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (activeMutant === undefined) return;
    if (event.name === 'test_start' && failedMutant === activeMutant) event.test.mode = 'skip';
    if (event.name === 'test_done' && event.test.errors.length > 0) failedMutant = activeMutant;
  }
}

module.exports = BailingTestEnvironment;
