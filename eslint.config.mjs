// @ts-check
// Lint: `npm run lint` (ESLint with --max-warnings 0, then `prettier --check`). Formatting belongs to
// Prettier alone (.prettierrc.json); eslint-config-prettier, last below, turns off every ESLint rule
// that would fight it.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import jest from 'eslint-plugin-jest';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // node_modules/ and .git/ are ignored by ESLint itself.
  // Stryker's sandboxes (.stryker-tmp/) are copies of the tree, with mutants in them, while a run lasts.
  globalIgnores(['dist/', 'coverage/', 'data/', '.stryker-tmp/', 'reports/']),

  {
    name: 'project/javascript',
    files: ['**/*.{js,cjs,mjs}'],
    extends: [eslint.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // jest.config.js is CommonJS (package.json has no "type": "module").
    name: 'project/commonjs',
    files: ['**/*.{js,cjs}'],
    languageOptions: { sourceType: 'commonjs' },
  },

  {
    // Type-aware rules for every TypeScript file. The project service takes each file's types from
    // the nearest tsconfig.json, whose "include" covers src, migrations, tests, bench and knexfile.ts;
    // a .ts file outside it is reported as a parse error, not linted without types.
    name: 'project/typescript',
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        // typescript-eslint 8.73.0 supports TypeScript >=4.8.4 <6.1.0 and the project pins ~6.0.3.
        // Outside that range the default is a warning printed only when stdout is a TTY, so CI would
        // never show it: fail instead, and upgrade typescript-eslint together with TypeScript.
        onUnsupportedTypeScriptVersion: 'error',
      },
    },
    rules: {
      // Already errors in recommendedTypeChecked; stated here because the project relies on them:
      // an unhandled rejection ends the process, and a promise nobody awaits hides its failure.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // The same exemptions as tsc's noUnusedLocals/noUnusedParameters (tsconfig.json): a parameter
      // named with a leading underscore (Express tells an error handler by its four parameters), and
      // properties destructured beside a ...rest only to leave them out of it.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },

  // The layers (docs/development.md): http → domain ← db. The domain sees no HTTP and no SQL,
  // and storage sees no HTTP; services.ts and app.ts wire them together. Checked here, not kept
  // by habit, so that a capability added later cannot make an import that runs back up.
  {
    name: 'project/layers/domain',
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../http', '../http/**', '../db', '../db/**'],
              message: 'The domain imports neither http/ nor db/.',
            },
            {
              group: ['express', 'knex', 'pg', '@electric-sql/*', 'node:http'],
              message: 'The domain sees no HTTP and no SQL.',
            },
          ],
        },
      ],
    },
  },
  {
    name: 'project/layers/db',
    files: ['src/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../http', '../http/**'], message: 'Storage imports nothing of http/.' },
            { group: ['express', 'node:http'], message: 'Storage sees no HTTP.' },
          ],
        },
      ],
    },
  },

  {
    name: 'project/tests',
    files: ['tests/**/*.ts'],
    extends: [jest.configs['flat/recommended']],
    rules: {
      // The suites assert on JSON answers: supertest types `res.body` as `any`, and so does Jest's
      // `expect.any()`. Reading a field of an answer is what a test is for, and a wrong guess fails
      // the assertion it feeds, so these rules would only ask for casts that prove nothing. The
      // rules stay on for src/, bench/ and migrations/.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Shared assertion helpers (tests/support/responses.ts) count as assertions.
      'jest/expect-expect': [
        'error',
        {
          assertFunctionNames: [
            'expect',
            'expectTokenRefused',
            'expectCleanErrorBody',
            'expectAnswer',
            'expectDocumentedAnswer',
            'expectRateLimited',
            'expectStillServing',
            'expectOneSuccessorEachRound',
            'expectRefused',
          ],
        },
      ],
    },
  },

  // Last: switches off the stylistic rules that Prettier owns.
  prettier,
);
