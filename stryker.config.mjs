// @ts-check
// Mutation testing: `npm run test:mutation`. Stryker changes src/ one small step at a time and
// runs the tests that cover each change; a change that no test notices is a gap in the suite.
// It runs the unit and PGlite projects. MUTATION_PROJECT=postgres runs the PostgreSQL project
// instead (with TEST_DATABASE_URL set, as for `npm test`), for the code only a PostgreSQL server
// reaches: the LISTEN connection and its reconnects, races between connections.
import os from 'node:os';
import path from 'node:path';
import jestConfig from './jest.config.js';

// Stryker's Jest runner finds no tests through `projects`: it gets one flat configuration, the
// database project's, matching the unit suites too (they ignore the database globals).
const project = (name) => jestConfig.projects.find((each) => each.displayName === name);
const databaseProjectName = process.env.MUTATION_PROJECT ?? 'pglite';
const database = project(databaseProjectName);
if (database === undefined) {
  throw new Error(
    `MUTATION_PROJECT=${databaseProjectName}: no such Jest project (the postgres one needs TEST_DATABASE_URL)`,
  );
}

// Every mutant re-runs Jest, which loads every matching suite even when a test-name filter
// skips all of its tests. MUTATION_TEST_FILES (comma-separated paths, such as
// `tests/signup.test.ts,tests/login.test.ts`) narrows a run to the suites that cover the files
// it mutates, which on a busy machine is the difference between minutes and hours.
const onlyTestFiles = process.env.MUTATION_TEST_FILES?.split(',').filter((file) => file.trim() !== '');

// Where the dry run records each test's file, so that a mutant's run loads only the files that
// hold its covering tests (tests/support/mutation/). One file per Stryker run.
const testFilesMap = path.join(os.tmpdir(), `hasura-auth-mutation-tests-${process.pid}.jsonl`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // As in `npm test`: PGlite imports dynamically, which Jest needs the first flag for.
  testRunnerNodeArgs: ['--experimental-vm-modules', '--liftoff-only'],
  jest: {
    projectType: 'custom',
    // Jest's --findRelatedTests misses suites that reach a file only through the running server
    // (the webhook route, say): let coverage choose the tests instead.
    enableFindRelatedTests: false,
    config: {
      ...database,
      // Stryker lays this over jest.config.js, whose projects would otherwise still apply. An empty
      // list, not undefined: Stryker passes its options to its workers as JSON, which drops an
      // undefined, and with the projects left in, Jest ran every test twice.
      projects: [],
      globals: { ...database.globals, MUTATION_TEST_FILES_MAP: testFilesMap },
      setupFilesAfterEnv: ['<rootDir>/tests/support/mutation/record-test-files.js'],
      testSequencer: '<rootDir>/tests/support/mutation/test-sequencer.js',
      // A path, not <rootDir>: Stryker's coverage environment requires it before Jest reads it.
      testEnvironment: path.resolve(import.meta.dirname, 'tests/support/mutation/bail-environment.js'),
      runner: path.resolve(import.meta.dirname, 'tests/support/mutation/bailing-runner.js'),
      testMatch: onlyTestFiles
        ? onlyTestFiles.map((file) => `<rootDir>/${file.trim()}`)
        : [...project('unit').testMatch, ...database.testMatch],
      // A mutant that makes a request hang fails its test at this, and counts as killed. The
      // slowest test (a password change behind 64 queued logins) takes about 17 s on a loaded
      // machine; npm test's 60 s made every hanging mutant cost minutes, and a few such tests in
      // one suite reached Stryker's own timeout, which also restarts Jest.
      testTimeout: 30_000,
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
  // Stryker's timeout is this plus 1.5 × the covering tests' own time, which leaves out loading the
  // suites and their beforeAll (a PGlite and an app each): for a mutant covered by many suites
  // that overhead alone exceeded 30 s here, and every such mutant read as a timeout. A hung test
  // fails on Jest's own testTimeout first, which counts as killed; this catches only a hang Jest
  // cannot interrupt.
  timeoutMS: 180_000,
  // The initial run is the whole covering suite with coverage on; Stryker's 5 minutes are too
  // short for it on a loaded 2-core machine.
  dryRunTimeoutMinutes: 30,
  ignorePatterns: ['dist', 'coverage', 'data', 'reports', '.stryker-tmp'],
  plugins: ['@stryker-mutator/*', './tests/support/mutation/stream-reporter.mjs'],
  reporters: ['clear-text', 'progress', 'html', 'json', 'mutant-stream'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
};
