// @ts-check
// Mutation testing: `npm run test:mutation`. Stryker changes src/ one small step at a time and
// runs the tests that cover each change; a change that no test notices is a gap in the suite.
// It runs the unit and PGlite projects only (PostgreSQL adds time, not coverage of src/).
import jestConfig from './jest.config.js';

// Stryker's Jest runner finds no tests through `projects`: it gets one flat configuration, the
// PGlite project's, matching the unit suites too (they ignore the database globals).
const project = (name) => jestConfig.projects.find((each) => each.displayName === name);
const pglite = project('pglite');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // PGlite imports dynamically; Jest needs this flag for it, as in `npm test`.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    projectType: 'custom',
    // Jest's --findRelatedTests misses suites that reach a file only through the running server
    // (the webhook route, say): let coverage choose the tests instead.
    enableFindRelatedTests: false,
    config: {
      ...pglite,
      // Stryker lays this over jest.config.js, whose projects would otherwise still apply.
      projects: undefined,
      testMatch: [...project('unit').testMatch, ...pglite.testMatch],
      testTimeout: jestConfig.testTimeout,
      // The pruned-install suite builds and prunes a copy of the repository: slow, and it tests
      // the deploy commands, not the code Stryker mutates.
      testPathIgnorePatterns: ['/node_modules/', '/tests/unit/pruned-install.test.ts'],
    },
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // main.ts is signals and process exit, outside any test process.
  mutate: ['src/**/*.ts', '!src/main.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 30_000,
  ignorePatterns: ['dist', 'coverage', 'data', 'reports', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
};
