import { defineConfig } from 'vitest/config';

// Every test runs against a real Postgres: the global setup starts one (embedded, or DATABASE_URL)
// and migrates a template database; each test file gets its own database cloned from it.
export default defineConfig({
  // Node (production) loads graphql's CommonJS build, and so do our dependencies; Vite would hand
  // our own sources the .mjs build (package.json "module"), and a schema built by one copy is
  // refused by the other ("Cannot use GraphQLSchema from another module or realm").
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    globalSetup: ['tests/helpers/global-setup.ts'],
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
