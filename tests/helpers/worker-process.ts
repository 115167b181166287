/**
 * A job worker as its own OS process (PROCESS_ROLE=worker), so a test can kill it with SIGKILL in
 * the middle of a job. Configured entirely by environment variables; prints "ready" when its
 * workers are polling.
 */
import { createApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { deriveAppUrl } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import { installProcessGuards } from '../../src/process-guards.js';

const config = loadConfig({ ...process.env, PROCESS_ROLE: 'worker' });
installProcessGuards(createLogger('warn'));
await createApp(config, config.APP_DATABASE_URL ?? deriveAppUrl(config.DATABASE_URL!, config.APP_DATABASE_PASSWORD), createLogger('silent'));
process.stdout.write('ready\n');
