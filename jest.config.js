const fs = require('node:fs');

// jose, openid-client and oauth4webapi are ESM only. Node 24.9+ lets Jest require() ESM natively,
// and they are then loaded as they are; on older Node, Jest's module system loads CommonJS only, so
// their files are compiled to it. (oidc-provider, the test OpenID Provider, runs outside Jest's
// sandbox, in the global setup, where Node loads ESM itself.)
const esmOnly = 'jose|openid-client|oauth4webapi';
// Read from the version, not from vm.SourceTextModule: that exists only under
// --experimental-vm-modules, which a process that merely reads this file (Stryker's) may lack.
const [nodeMajor, nodeMinor] = process.versions.node.split('.').map(Number);
const requiresEsmNatively = nodeMajor > 24 || (nodeMajor === 24 && nodeMinor >= 9);
const esmOnlyPackages = requiresEsmNatively
  ? {}
  : {
      [`^.+/node_modules/(${esmOnly})/.+\\.js$`]: [
        'ts-jest',
        { tsconfig: { allowJs: true, module: 'commonjs' }, diagnostics: false },
      ],
    };

const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';

// Every database-facing suite runs once on embedded PGlite and, when TEST_DATABASE_URL is set,
// once more on PostgreSQL: the same files, in two Jest projects.
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false } }],
    ...esmOnlyPackages,
  },
  transformIgnorePatterns: requiresEsmNatively ? ['/node_modules/'] : [`/node_modules/(?!(${esmOnly})/)`],
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/tests'],
};

const databaseSuites = { ...shared, testMatch: ['<rootDir>/tests/*.test.ts'] };

const projects = [
  { ...shared, displayName: 'unit', testMatch: ['<rootDir>/tests/unit/**/*.test.ts'] },
  {
    ...databaseSuites,
    displayName: 'pglite',
    globals: { TEST_DATABASE_KIND: 'pglite' },
    globalSetup: '<rootDir>/tests/support/pglite-global-setup.ts',
  },
];

if (process.env.TEST_DATABASE_URL) {
  projects.push({
    ...databaseSuites,
    // tests/postgres/ holds suites about a PostgreSQL server itself (one not up yet, say).
    testMatch: [...databaseSuites.testMatch, '<rootDir>/tests/postgres/*.test.ts'],
    displayName: 'postgres',
    globals: { TEST_DATABASE_KIND: 'postgres' },
    globalSetup: '<rootDir>/tests/support/postgres-global-setup.ts',
    globalTeardown: '<rootDir>/tests/support/postgres-global-teardown.ts',
  });
} else {
  // Said, never silent. Where TEST_DATABASE_URL is set (CI), a server that does not answer fails
  // the run in the global setup instead.
  const postgresOnly = fs.readdirSync(`${__dirname}/tests/postgres`).filter((file) => file.endsWith('.test.ts'));
  console.log(
    `postgres suites left out: TEST_DATABASE_URL is unset, so every database suite runs on PGlite only, ` +
      `their PostgreSQL-only tests and tests/postgres/ (${postgresOnly.length} suites) not at all`,
  );
}

// The browser suite drives Debian's Chromium (apt-get install chromium), never a downloaded build.
// CI installs it, and there the suite must run: with CI set it is never left out, so a missing
// browser fails the run instead of skipping the suite.
const CHROMIUM_PATH = '/usr/bin/chromium';
if (fs.existsSync(CHROMIUM_PATH) || inCi) {
  projects.push({
    ...shared,
    displayName: 'browser',
    testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
    globals: { TEST_DATABASE_KIND: 'pglite', CHROMIUM_PATH },
    globalSetup: '<rootDir>/tests/support/pglite-global-setup.ts',
  });
} else {
  console.log(
    `browser suite left out: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, then npm run test:e2e)`,
  );
}

module.exports = {
  projects,
  // A global option: Jest ignores it inside a project. Tests here never wait on a timer (the
  // clock is injected); this bounds how long a hung database or a starved CPU may take before a
  // test is reported as failed instead of hanging CI.
  testTimeout: 60_000,
  // Jest's default is one worker fewer than the cores, so one on a 2-core CI machine; most suites
  // wait on a database or a socket as much as they compute, so two overlap well.
  maxWorkers: 2,
  // How long a worker may take to exit once told to. Measured on 2026-12-07 (PGlite project, two
  // workers): each worker holds no handle, timer or thread when told (its 'exit' event fires
  // within 2 ms), yet Node's own teardown of a process that ran PGlite's WebAssembly and every
  // suite's vm context took 480 ms more before the process was gone, against Jest's default of
  // 500 ms: on a loaded machine that printed "A worker process has failed to exit gracefully" and
  // killed a worker that was exiting cleanly. A real leak still shows, 5 s later.
  workerGracefulExitTimeout: 5000,
  // A worker is replaced once its heap passes this after a suite. Measured on 2026-12-07: each
  // suite leaves memory behind (module registries, PGlite's instances), a worker's heap grew past
  // 900 MB and its later suites slowed with it. `.ci/run` on a fresh clone took 22 min 46 s before
  // this limit and 13 min 45 s with it (Jest's own time: 1,271 s and 710 s).
  workerIdleMemoryLimit: '400MB',
};
