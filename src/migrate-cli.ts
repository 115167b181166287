import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { prepareDatabase } from './bootstrap.js';

/**
 * `npm run db:migrate` (the same as PROCESS_ROLE=migrate): applies migrations to DATABASE_URL, with
 * the owner's credentials, or to the embedded Postgres of DATA_DIR, and exits.
 */
const config = loadConfig({ ...process.env, PROCESS_ROLE: 'migrate' });
const db = await prepareDatabase(config, createLogger(config.LOG_LEVEL));
await db.embedded?.stop();
console.log('migrations applied');
