import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { prepareDatabase } from './bootstrap.js';

/** `npm run db:migrate`: applies migrations to DATABASE_URL (or the embedded Postgres) and exits. */
const config = loadConfig();
const db = await prepareDatabase(config, createLogger(config.LOG_LEVEL));
await db.embedded?.stop();
console.log('migrations applied');
