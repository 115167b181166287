import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { installProcessGuards } from './process-guards.js';
import { closeApp, createApp, prepareDatabase } from './bootstrap.js';
import { startHttpServer } from './http/server.js';
import { seedDemo, seedDemoIntegrations, type DemoIntegration } from './seed.js';
import { scheduleHealthChecks } from './jobs/health-checks.js';
import { startMockServices, type MockServices } from './mock-services/server.js';

/**
 * `npm start`: everything in one process. With no DATABASE_URL it starts an embedded Postgres
 * under .data/, migrates, seeds a demo tenant and prints how to log in.
 */
async function main() {
  const started = Date.now();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  installProcessGuards(log);
  const db = await prepareDatabase(config, log);
  const app = await createApp(config, db.appUrl, log, { ownerUrl: db.ownerUrl });
  const seedDemoData = config.SEED_DEMO ? config.SEED_DEMO === 'true' : !config.isProduction;
  const demo = seedDemoData ? await seedDemo(app) : undefined;
  // The fake providers, in this process, for the demo (MOCK_SERVICES, on by default in development).
  const mockEnabled = config.MOCK_SERVICES ? config.MOCK_SERVICES === 'true' : config.NODE_ENV === 'development';
  let mock: MockServices | undefined;
  let demoIntegrations: DemoIntegration[] = [];
  if (mockEnabled) {
    mock = await startMockServices({ port: config.MOCK_SERVICES_PORT, host: '127.0.0.1' });
    if (demo) demoIntegrations = await seedDemoIntegrations(app, demo.tenantSlug, mock.url);
    // Check the demo providers now rather than at the next cron tick, so their health isn't UNKNOWN.
    if (demoIntegrations.length && app.jobs.workersEnabled) await scheduleHealthChecks(app);
  }
  const http = config.PROCESS_ROLE === 'worker' ? undefined : await startHttpServer(app, { host: config.HOST, port: config.PORT });
  log.info({ ms: Date.now() - started, url: http ? `${http.url}/graphql` : undefined, role: config.PROCESS_ROLE }, 'Tessera ready');
  if (demo && http) {
    console.log(
      [
        '',
        `  Tessera is ready: ${config.publicUrl}/graphql  (Apollo Sandbox in the browser)`,
        `  Demo login:        tenantSlug "${demo.tenantSlug}", email "${demo.email}", password "${demo.password}"`,
        `  Platform operator: email "${app.platformOperator.email}", password "${app.platformOperator.password}"`,
        ...(mock ? [`  Mock providers:    ${mock.url} (/_control for faults and webhooks)`] : []),
        ...demoIntegrations.map((i) => `  ${i.name}: ${config.publicUrl}/webhooks/${i.id}  secret ${i.webhookSecret}`),
        ...(demoIntegrations[0]
          ? [
              '  Send signed webhooks from the mock user service:',
              `    curl -s ${mock!.url}/_control/webhooks/send -H 'content-type: application/json' \\`,
              `      -d '{"url":"${config.publicUrl}/webhooks/${demoIntegrations[0].id}","secret":"${demoIntegrations[0].webhookSecret}","type":"user.created","count":3}'`,
            ]
          : []),
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await http?.close().catch((err) => log.error({ err }, 'http close failed'));
    await mock?.close().catch(() => undefined);
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
