import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Every test runs against a real Postgres: the global setup starts one (embedded, or DATABASE_URL)
// and migrates a template database; each test file gets its own database cloned from it.
export default defineConfig({
  // graphql as Node loads it in production (its CommonJS main). Vite would pick the package's
  // `module` (index.mjs) for our sources while graphql-tools, Apollo and shield load index.js: two
  // instances, and graphql's instanceof checks (isObjectType…) throw "another module or realm".
  resolve: { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }] },
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
