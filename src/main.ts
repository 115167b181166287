import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { installProcessGuards } from './process-guards.js';
import { closeApp, createAppWhenReachable, prepareDatabase } from './bootstrap.js';
import { withStartupLock } from './db/startup-lock.js';
import { startHttpServer } from './http/server.js';
import { seedDemo, seedDemoIntegrations, seedDemoSso, type DemoIntegration } from './seed.js';
import { scheduleHealthChecks } from './integrations/health-checks.js';
import type { MockServices } from './mock-services/server.js';

/**
 * The one entry point, for every process role (PROCESS_ROLE):
 *  - `all` (`npm start`, development): with no DATABASE_URL an embedded Postgres under .data/,
 *    migrations, the demo tenant, the mock providers, the API and the job workers, in one process;
 *  - `api` / `worker`: the API, or the job workers, waiting for the migrate step;
 *  - `migrate`: applies migrations with the owner's credentials and exits.
 *
 * Lifecycle: whatever starts registers how to stop; on SIGTERM/SIGINT (or a failed start) the
 * steps run in reverse: the HTTP listener drains, job workers finish or release their jobs, pools
 * close, the embedded Postgres stops last; then one "stopped" line and exit code 0 (1 after a failed start).
 */
async function main() {
  const started = Date.now();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  const log = createLogger(config.LOG_LEVEL);
  installProcessGuards(log);
  const stops: { name: string; run: () => Promise<unknown> }[] = [];
  const onStop = (name: string, run: () => Promise<unknown>) => void stops.push({ name, run });
  let stopping: Promise<void> | undefined;
  const stop = (reason: string, exitCode: number) =>
    (stopping ??= (async () => {
      const t0 = Date.now();
      log.info({ reason, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down');
      const steps: Record<string, number> = {};
      for (const step of stops.reverse()) {
        const s0 = Date.now();
        await step.run().catch((err: unknown) => log.warn({ err, step: step.name }, 'shutdown step failed'));
        steps[step.name] = Date.now() - s0;
      }
      log.info({ reason, ms: Date.now() - t0, steps }, 'stopped');
      process.exit(exitCode);
    })());
  let ready = false;
  let signalled: string | undefined;
  // Ends start-up's waits for the database (which last as long as an outage does).
  const aborted = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return void log.info({ signal }, 'already shutting down');
      signalled = signal;
      // During start-up the start sequence notices and stops at its next step, or ends its wait.
      if (ready) void stop(signal, 0);
      else aborted.abort(new StartAborted(signal));
    });
  }
  const step = async <T>(run: () => Promise<T>): Promise<T> => {
    if (signalled) throw new StartAborted(signalled);
    return run();
  };

  try {
    const db = await step(() => prepareDatabase(config, log, { signal: aborted.signal }));
    if (db.embedded) onStop('embedded Postgres', db.embedded.stop);
    if (config.PROCESS_ROLE === 'migrate') {
      log.info({ ms: Date.now() - started }, 'migrations applied');
      return void (await stop('migrated', 0));
    }
    // The fake providers, for the demo, only in the all-in-one development process (MOCK_SERVICES,
    // on by default in development): a worker or an API process starts no listener it doesn't need.
    const mockEnabled = config.PROCESS_ROLE === 'all' && (config.MOCK_SERVICES ? config.MOCK_SERVICES === 'true' : config.NODE_ENV === 'development');
    let mock: MockServices | undefined;
    if (mockEnabled) {
      // Loaded only here: API and worker processes never load the mocks (an OpenID provider among them, ~1 s and tens of MB).
      const { startMockServices } = await import('./mock-services/server.js');
      mock = await step(() => startMockServices({ port: config.MOCK_SERVICES_PORT, host: '127.0.0.1' }));
      onStop('mock services', mock.close);
    }
    const app = await step(() => createAppWhenReachable(config, db.appUrl, log, { signal: aborted.signal }));
    onStop('app', () => closeApp(app));
    const seedDemoData = config.SEED_DEMO ? config.SEED_DEMO === 'true' : !config.isProduction;
    // Processes started together take turns, so one of them seeds and the others find the seed.
    const demo = seedDemoData ? await step(() => withStartupLock(db.appUrl, () => seedDemo(app))) : undefined;
    let demoIntegrations: DemoIntegration[] = [];
    let demoSso: string | undefined;
    if (mock && demo) {
      demoIntegrations = await step(() => withStartupLock(db.appUrl, () => seedDemoIntegrations(app, demo.tenantSlug, mock.url)));
      demoSso = await step(() => withStartupLock(db.appUrl, () => seedDemoSso(app, demo.tenantSlug, mock.url)));
      // Check the demo providers now rather than at the next cron tick, so their health isn't UNKNOWN.
      if (demoIntegrations.length && app.jobs.workersEnabled) await scheduleHealthChecks(app);
    }
    const http = config.PROCESS_ROLE === 'worker' ? undefined : await step(() => startHttpServer(app, { host: config.HOST, port: config.PORT }));
    if (http) {
      // Requests in flight and running jobs drain at the same time; then closeApp closes the pools.
      onStop('http', () => Promise.all([http.close({ graceMs: config.SHUTDOWN_GRACE_MS }), app.jobs.stop(config.SHUTDOWN_GRACE_MS)]));
    } else {
      onStop('job workers', () => app.jobs.stop(config.SHUTDOWN_GRACE_MS));
    }
    if (signalled) throw new StartAborted(signalled);
    ready = true;
    log.info({ ms: Date.now() - started, url: http ? `${http.url}/graphql` : undefined, role: config.PROCESS_ROLE }, 'Tessera ready');
    if (demo && http) printBanner(config, app.platformOperator, demo, mock, demoIntegrations, demoSso);
  } catch (err) {
    if (err instanceof StartAborted) return void (await stop(err.signal, 0));
    if (signalled) return void (await stop(signalled, 0)); // a step that failed because it was interrupted
    reportStartFailure(log, err);
    await stop('start failed', 1);
  }
}

class StartAborted extends Error {
  constructor(readonly signal: string) {
    super(`start-up interrupted by ${signal}`);
  }
}

/** The whole cause, for a person at a terminal as well as for the log (Postgres' own message included). */
function reportStartFailure(log: Logger, err: unknown) {
  log.fatal({ err }, 'start failed');
  console.error(`\nTessera could not start: ${err instanceof Error ? err.message : String(err)}\n`);
}

function printBanner(
  config: Config,
  operator: { email: string; password: string },
  demo: { tenantSlug: string; email: string; password: string },
  mock: MockServices | undefined,
  demoIntegrations: DemoIntegration[],
  demoSso?: string,
) {
  console.log(
    [
      '',
      `  Tessera is ready: ${config.publicUrl}/graphql  (Apollo Sandbox in the browser)`,
      `  Demo login:        tenantSlug "${demo.tenantSlug}", email "${demo.email}", password "${demo.password}"`,
      `  Platform operator: email "${operator.email}", password "${operator.password}"`,
      ...(mock ? [`  Mock providers:    ${mock.url} (/_control for faults and webhooks)`] : []),
      ...(demoSso
        ? [
            `  Single sign-on:    ${demoSso}  (mock IdP at ${mock!.url}/oidc: people alice@demo.test (MEMBER), bob@demo.test (ADMIN by group))`,
            `                     ${demoSso.replace('protocol=oidc', 'protocol=saml')}  (mock SAML IdP at ${mock!.url}/saml)`,
          ]
        : []),
      // Secrets only on the start that created them (shown once, like the API does).
      ...demoIntegrations.map((i) => `  ${i.name}: ${config.publicUrl}/webhooks/${i.id}  ${i.webhookSecret ? `secret ${i.webhookSecret}` : '(secret shown at first start; rotateWebhookSecret for a new one)'}`),
      ...(demoIntegrations[0] && mock
        ? [
            '  Send signed webhooks from the mock user service:',
            `    curl -s ${mock.url}/_control/webhooks/send -H 'content-type: application/json' \\`,
            `      -d '{"url":"${config.publicUrl}/webhooks/${demoIntegrations[0].id}","secret":"${demoIntegrations[0].webhookSecret ?? '<the webhook secret>'}","type":"user.created","count":3}'`,
          ]
        : []),
      '',
    ].join('\n'),
  );
}

void main();
