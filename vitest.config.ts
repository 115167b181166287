import { defineConfig } from 'vitest/config';

// Every test runs against a real Postgres: the global setup starts one (embedded, or DATABASE_URL)
// and migrates a template database; each test file gets its own database cloned from it.
export default defineConfig({
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
