// @ts-check
// With bail-environment.js, stops a mutant's Jest run at its first failing test: that environment
// skips the rest of the failing file, and this runner (Jest's own, in band, as Stryker runs it)
// starts no file after it. Loading a suite costs a second or so of module evaluation even when
// none of its tests run, and a line every request reaches is covered by tests in most files.
const { default: JestTestRunner } = require('jest-runner');

class BailingTestRunner extends JestTestRunner {
  /**
   * @override
   * @type {JestTestRunner['runTests']}
   */
  async runTests(tests, watcher, options) {
    if (process.env.__STRYKER_ACTIVE_MUTANT__ === undefined) return super.runTests(tests, watcher, options);
    let failed = false;
    const stopListening = this.on('test-file-success', ([, result]) => {
      if (result.numFailingTests > 0) failed = true;
    });
    try {
      for (const test of tests) {
        if (failed) break;
        await super.runTests([test], watcher, options);
      }
    } finally {
      stopListening();
    }
  }
}

module.exports = BailingTestRunner;
