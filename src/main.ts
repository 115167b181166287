import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { closeApp, createApp, prepareDatabase } from './bootstrap.js';
import { startHttpServer } from './http/server.js';
import { seedDemo } from './seed.js';

/**
 * `npm start`: everything in one process. With no DATABASE_URL it starts an embedded Postgres
 * under .data/, migrates, seeds a demo tenant and prints how to log in.
 */
async function main() {
  const started = Date.now();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const db = await prepareDatabase(config, log);
  const app = await createApp(config, db.appUrl, log, { ownerUrl: db.ownerUrl });
  const seedDemoData = config.SEED_DEMO ? config.SEED_DEMO === 'true' : !config.isProduction;
  const demo = seedDemoData ? await seedDemo(app) : undefined;
  const http = await startHttpServer(app, { host: config.HOST, port: config.PORT });
  log.info({ ms: Date.now() - started, url: `${http.url}/graphql` }, 'Tessera ready');
  if (demo) {
    console.log(
      [
        '',
        `  Tessera is ready: ${config.publicUrl}/graphql  (Apollo Sandbox in the browser)`,
        `  Demo login:        tenantSlug "${demo.tenantSlug}", email "${demo.email}", password "${demo.password}"`,
        `  Platform operator: email "${app.platformOperator.email}", password "${app.platformOperator.password}"`,
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await http.close().catch((err) => log.error({ err }, 'http close failed'));
    await closeApp(app).catch(() => undefined);
    await db.embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
