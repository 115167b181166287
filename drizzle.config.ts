import { defineConfig } from 'drizzle-kit';

// Generation only (`npm run db:generate`); migrations are applied by `npm run db:migrate` /
// at start-up through drizzle's migrator. Never use `drizzle-kit push`: it drops policy clauses.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/tessera' },
});
