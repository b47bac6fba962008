// Every database-facing suite runs once on embedded PGlite and, when TEST_DATABASE_URL is set,
// once more on PostgreSQL: the same files, in two Jest projects.
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/tests'],
  testTimeout: 30_000,
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
    displayName: 'postgres',
    globals: { TEST_DATABASE_KIND: 'postgres' },
    globalSetup: '<rootDir>/tests/support/postgres-global-setup.ts',
    globalTeardown: '<rootDir>/tests/support/postgres-global-teardown.ts',
  });
}

module.exports = { projects };
