/**
 * Fan-out benchmark: N graphql-ws subscribers on one server process receive an integration health
 * change. Latency is measured from just before the transaction that writes the change (and NOTIFYs
 * at its commit) to each client's receipt; clients and server share one clock (same process).
 *
 *   npx tsx bench/fanout.ts [subscribers=500] [rounds=10]
 *
 * Uses DATABASE_URL if set, otherwise an embedded Postgres under .data/bench.
 */
import { actors, ShortTransactionScope } from '../src/db/tenant-transaction.js';
import { createIntegration } from '../src/modules/integrations/service.js';
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { closeApp, createApp, prepareDatabase } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { startHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { reevaluateHealth } from '../src/integrations/health-monitor.js';
import { createSeed } from '../tests/helpers/seed.js';

const SUBSCRIBERS = Number(process.argv[2] ?? 500);
const ROUNDS = Number(process.argv[3] ?? 10);
const QUERY = `subscription ($id: UUID) { integrationHealthChanged(integrationId: $id) { integrationId status } }`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: process.env.DATA_DIR ?? '.data/bench', EMBEDDED_PG_PORT: process.env.EMBEDDED_PG_PORT ?? '54339' });
  const log = createLogger('warn');
  const db = await prepareDatabase(config, log);
  const app = await createApp(config, db.appUrl, log);
  const http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  const tenant = await createSeed(app).tenant();
  const integrationId = (await createIntegration(new ShortTransactionScope(app.db, actors.system('bench', tenant.tenant.id)), app, { provider: 'USER_SERVICE', name: 'Bench', baseUrl: 'http://127.0.0.1:9', apiKey: 'bench' })).integration.id;

  let roundStart = 0;
  let round = -1;
  const received: number[][] = Array.from({ length: ROUNDS }, () => []);
  // When this process's LISTEN connection hands the notification over (before any WebSocket work).
  const notified: number[] = [];
  app.pubsub.on(() => {
    if (round >= 0 && notified[round] === undefined) notified[round] = performance.now() - roundStart;
  });
  const before = app.pubsub.listenerCount;
  const connectStarted = performance.now();
  const clients: Client[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const client = createClient({ url: `${http.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.owner.token}` }, retryAttempts: 0 });
    clients.push(client);
    client.subscribe(
      { query: QUERY, variables: { id: integrationId } },
      {
        next: () => {
          if (round >= 0) received[round]!.push(performance.now() - roundStart);
        },
        error: (err) => console.error('subscription error', err),
        complete: () => {},
      },
    );
  }
  while (app.pubsub.listenerCount < before + SUBSCRIBERS) await new Promise((r) => setTimeout(r, 20));
  console.log(`${SUBSCRIBERS} subscribers connected and subscribed in ${Math.round(performance.now() - connectStarted)} ms`);

  const all: number[] = [];
  for (round = 0; round < ROUNDS; round++) {
    roundStart = performance.now();
    // Alternates DEGRADED / UNKNOWN so every round is a status change (one history row, one NOTIFY).
    await reevaluateHealth(app, tenant.tenant.id, integrationId, { external: { deadLetterCount: round % 2 === 0 ? 1 : 0 } });
    const committed = performance.now() - roundStart;
    const deadline = performance.now() + 10_000;
    while (received[round]!.length < SUBSCRIBERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const sorted = [...received[round]!].sort((x, y) => x - y);
    all.push(...sorted);
    console.log(
      `round ${round + 1}: ${sorted.length}/${SUBSCRIBERS} delivered  write+commit ${committed.toFixed(1)} ms  NOTIFY received ${notified[round]?.toFixed(1)} ms  p50 ${percentile(sorted, 50).toFixed(1)} ms  p99 ${percentile(sorted, 99).toFixed(1)} ms  max ${sorted.at(-1)!.toFixed(1)} ms`,
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  all.sort((x, y) => x - y);
  const missing = SUBSCRIBERS * ROUNDS - all.length;
  console.log(
    `\nALL ${ROUNDS} rounds x ${SUBSCRIBERS} subscribers: delivered ${all.length}${missing ? ` (MISSING ${missing})` : ''}  p50 ${percentile(all, 50).toFixed(1)} ms  p95 ${percentile(all, 95).toFixed(1)} ms  p99 ${percentile(all, 99).toFixed(1)} ms  max ${all.at(-1)!.toFixed(1)} ms`,
  );

  await Promise.all(clients.map((c) => c.dispose()));
  await http.close();
  await closeApp(app);
  await db.embedded?.stop();
  process.exit(missing ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
