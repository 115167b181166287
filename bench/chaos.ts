/**
 * `npm run chaos`: faults survived, seen from outside (issue 12). Not part of `npm test`.
 *
 * The split topology as OS processes (bench/lib/deployment.ts): Postgres, the migrate step, one API
 * (PROCESS_ROLE=api), one worker (PROCESS_ROLE=worker), the mock providers. A sender behaving like a
 * real provider delivers signed user webhooks for RECORDS records with rising versions at RATE new
 * deliveries per second for DURATION seconds; a tenth are delivered again later with the same
 * webhook-id (a provider that lost our answer). It retries 5xx, 429 and connection errors with
 * exponential backoff (0.25 s doubling to 30 s, never sooner than Retry-After), same webhook-id,
 * fresh signature, and like a provider's dispatcher it has at most IN_FLIGHT requests open to the
 * endpoint (a run with no such bound spent its own CPU on thousands of retries per second during a
 * long outage, and its late timers then counted as the API's silence). Meanwhile:
 *  - the worker is killed with SIGKILL every KILL_EVERY seconds and started again;
 *  - backends of storing transactions (webhook ingest on the API, event processing on the worker)
 *    are terminated with pg_terminate_backend every TERMINATE_EVERY seconds;
 *  - Postgres is crash-stopped once in the middle (immediate shutdown) and started again PG_DOWN
 *    seconds later, while a probe asks GraphQL and /readyz every 200 ms.
 * When everything sent is answered and the queue drained, it counts:
 *  - lost:       a delivery answered 2xx whose event row or effect is missing;
 *  - duplicated: an event stored twice, or one record version applied twice (audit trail);
 *  - unexpected: a record whose final state is not the highest version stored;
 *  - stuck:      events not PROCESSED after the queue drained;
 *  - undelivered: deliveries the sender gave up on (refused, or no 2xx within GIVE_UP seconds);
 *  - hands:      processes that exited by themselves (restarted by this script, as an operator would);
 *  - outage:     probes during the outage not answered 503 promptly, and whether the API recovered by itself.
 * Exits 1 if any of them is not 0.
 *
 *   npm run chaos                                     # 180 s at 250/s, 1,000 records
 *   npm run chaos -- --duration 60 --rate 100         # short
 *   CHAOS_DURATION=60 CHAOS_RATE=100 npm run chaos    # the same, by environment
 *
 * Results: stdout and .bench/chaos.md; process logs in .data/chaos/logs (kept when a check fails).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateEvent, signPayload } from '../src/mock-services/send-webhooks.js';
import { ownerClient, sleep, startDeployment, type Deployment } from './lib/deployment.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_FILE = path.join(ROOT, '.bench/chaos.md');

const SETTINGS = {
  duration: { env: 'CHAOS_DURATION', default: 180, help: 'seconds of sending' },
  rate: { env: 'CHAOS_RATE', default: 250, help: 'new deliveries per second' },
  records: { env: 'CHAOS_RECORDS', default: 1000, help: 'records the deliveries are about' },
  duplicates: { env: 'CHAOS_DUPLICATES', default: 0.1, help: 'share of deliveries delivered twice' },
  'kill-every': { env: 'CHAOS_KILL_EVERY', default: 20, help: 'seconds between worker SIGKILLs' },
  'terminate-every': { env: 'CHAOS_TERMINATE_EVERY', default: 3, help: 'seconds between pg_terminate_backend rounds' },
  'pg-down': { env: 'CHAOS_PG_DOWN', default: 6, help: 'seconds Postgres stays down' },
  'pg-recovery': { env: 'CHAOS_PG_RECOVERY', default: 0, help: 'seconds Postgres is then held in recovery (answering 57P03 "starting up") before it accepts connections' },
  'give-up': { env: 'CHAOS_GIVE_UP', default: 300, help: 'seconds a sender retries one delivery' },
  drain: { env: 'CHAOS_DRAIN', default: 300, help: 'seconds to wait for the queue to drain' },
} as const;
type Setting = keyof typeof SETTINGS;

function settings(): Record<Setting, number> {
  const { values } = parseArgs({ options: Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, { type: 'string' }])) as Record<Setting, { type: 'string' }>, allowPositionals: true });
  return Object.fromEntries(
    Object.entries(SETTINGS).map(([k, s]) => {
      const raw = (values as Record<string, string | undefined>)[k] ?? process.env[s.env];
      const n = raw === undefined ? s.default : Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} (${s.env}): a number ≥ 0 (${s.help})`);
      return [k, n];
    }),
  ) as Record<Setting, number>;
}

const t0 = Date.now();
const sec = (from?: number, to?: number) => (from !== undefined && to !== undefined ? ((to - from) / 1000).toFixed(1) : '?');
const log = (msg: string) => console.log(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

interface Delivery {
  msgId: string;
  body: string;
  record: number;
  version: number;
  /** When the first 2xx came, and its status; undefined while unanswered. */
  acceptedAt?: number;
  acceptedStatus?: number;
  attempts: number;
  outcome?: 'accepted' | 'refused' | 'gave-up';
  refusal?: string;
}

const counters = { attempts: 0, retries: 0, byStatus: new Map<string, number>(), duplicatesSent: 0, duplicatesAnswered: new Map<string, number>() };
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** Requests open to the endpoint at most (a provider's dispatcher); the rest wait their turn. */
const IN_FLIGHT = 256;
const slots = { free: IN_FLIGHT, waiting: [] as (() => void)[] };
async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (slots.free > 0) slots.free--;
  else await new Promise<void>((r) => slots.waiting.push(r));
  try {
    return await fn();
  } finally {
    const next = slots.waiting.shift();
    if (next) next();
    else slots.free++;
  }
}

/** One delivery as a provider makes it: retried on 5xx, 429 and connection errors, same webhook-id, fresh signature. */
async function deliver(url: string, secret: string, d: Delivery, giveUpMs: number, outage: Outage): Promise<number | undefined> {
  const deadline = Date.now() + giveUpMs;
  for (let attempt = 0; ; attempt++) {
    d.attempts++;
    counters.attempts++;
    if (attempt > 0) counters.retries++;
    let sentAt = Date.now();
    let status = 0;
    let retryAfter = 0;
    await inSlot(async () => {
      sentAt = Date.now();
      try {
        const res = await fetch(url, { method: 'POST', headers: signPayload(secret, d.msgId, d.body), body: d.body, signal: AbortSignal.timeout(15_000) });
        status = res.status;
        retryAfter = Number(res.headers.get('retry-after')) || 0;
        const text = await res.text();
        if (status >= 400 && status < 500 && status !== 429) d.refusal = `${status} ${text.slice(0, 200)}`;
      } catch (err) {
        bump(counters.byStatus, `error ${(err as Error).name === 'TimeoutError' ? 'timeout' : String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name)}`);
      }
    });
    if (status) bump(counters.byStatus, String(status));
    outage.noteWebhook(sentAt, status);
    if (status >= 200 && status < 300) return status;
    if (d.refusal) return undefined;
    if (Date.now() > deadline) return undefined;
    // Exponential backoff with jitter, 0.25 s doubling to 30 s, and never sooner than Retry-After.
    const backoff = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random());
    await sleep(Math.max(retryAfter * 1000, backoff));
  }
}

/** What the API answered while Postgres was down, and how soon it answered again afterwards. */
class Outage {
  /** Crash begun, Postgres gone, start begun, Postgres accepting connections again (after its crash recovery). */
  downAt?: number;
  goneAt?: number;
  upAt?: number;
  readyAt?: number;
  probes: { at: number; ms: number; graphql: number; ready: number }[] = [];
  webhooksDuringOutage = new Map<string, number>();
  /** The first delivery answered 2xx after Postgres accepted connections again. */
  firstAcceptedAfter?: number;
  noteWebhook(sentAt: number, status: number) {
    if (this.readyAt && status >= 200 && status < 300 && !this.firstAcceptedAfter) this.firstAcceptedAfter = Date.now();
    if (this.downAt && sentAt >= this.downAt + 500 && (!this.readyAt || sentAt < this.readyAt)) bump(this.webhooksDuringOutage, String(status));
  }
}

/**
 * GraphQL (`me`) and /readyz every 250 ms, each on its own (a slow answer doesn't delay the next
 * probe), from a process of its own: the sender's load on this process's event loop must not delay
 * the probes' clocks (a late timer would count as the API's silence).
 */
const PROBE_SCRIPT = `
  const { URL: url, TOKEN: token } = process.env;
  const status = (p) => p.then(async (r) => (await r.text(), r.status), () => 0);
  const inFlight = new Set();
  let stopping = false;
  process.stdin.on('end', () => (stopping = true)).resume();
  (async () => {
    while (!stopping) {
      const at = Date.now();
      const one = Promise.all([
        status(fetch(url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify({ query: '{ me { id } }' }), signal: AbortSignal.timeout(20000) })),
        status(fetch(url + '/readyz', { signal: AbortSignal.timeout(20000) })),
      ]).then(([graphql, ready]) => console.log(JSON.stringify({ at, ms: Date.now() - at, graphql, ready })));
      inFlight.add(one);
      one.finally(() => inFlight.delete(one));
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.all(inFlight);
  })();
`;

function startProbe(deployment: Deployment, outage: Outage): { stop(): Promise<void> } {
  const child = spawn(process.execPath, ['-e', PROBE_SCRIPT], { env: { PATH: process.env.PATH ?? '', URL: deployment.apiUrls[0]!, TOKEN: deployment.tenant.token }, stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (buffered + d.toString()).split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim()) outage.probes.push(JSON.parse(line) as Outage['probes'][number]);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    stop: () => {
      child.stdin!.end();
      return exited;
    },
  };
}

/** This process's own lag (the sender's), reported beside the API's figures. */
const loopDelay = monitorEventLoopDelay({ resolution: 20 });

async function main() {
  loopDelay.enable();
  const s = settings();
  log(`settings ${JSON.stringify(s)}`);
  const deployment = await startDeployment({
    dataDir: path.join(ROOT, '.data/chaos'),
    log,
    env: {
      // Jobs held by a killed worker come back after expiry + maintenance: keep that within the run.
      WEBHOOK_JOB_EXPIRE_SECONDS: '20',
      JOB_MAINTENANCE_INTERVAL_SECONDS: '5',
      WEBHOOK_RETRY_DELAY_SECONDS: '2',
      WEBHOOK_RETRY_LIMIT: '20',
      SHUTDOWN_GRACE_MS: '5000',
    },
  });
  try {
    await run(s, deployment);
  } catch (err) {
    await deployment.stop();
    throw err;
  }
}

async function run(s: Record<Setting, number>, deployment: Deployment) {
  const owner = ownerClient(deployment.ownerUrl);
  const { integrationId, secret } = deployment.tenant;
  const hookUrl = `${deployment.apiUrls[0]}/webhooks/${integrationId}`;
  const outage = new Outage();
  let finished = false;
  const chaos: Promise<unknown>[] = [];
  const events = { kills: 0, terminated: 0, terminateRounds: 0 };
  const startFailures: number[] = [];

  // The records: one provider user each, its version rising with every delivery about it.
  const base = Date.now() - 3_600_000;
  const records = Array.from({ length: s.records }, (_, r) => generateEvent('user.created', { email: `record-${r}@chaos.test`, name: `Record ${r}` }).data);
  const nextVersion = new Array<number>(s.records).fill(0);
  const deliveries: Delivery[] = [];
  const sends: Promise<void>[] = [];
  const giveUpMs = s['give-up'] * 1000;

  const sendOne = (d: Delivery) =>
    deliver(hookUrl, secret, d, giveUpMs, outage).then((status) => {
      if (status) {
        d.acceptedAt = Date.now();
        d.acceptedStatus = status;
        d.outcome = 'accepted';
      } else d.outcome = d.refusal ? 'refused' : 'gave-up';
      // A provider that lost our answer delivers again, same webhook-id, some time later.
      if (status && Math.random() < s.duplicates) {
        counters.duplicatesSent++;
        sends.push(
          sleep(Math.random() * 5000).then(async () => {
            const again = { ...d, attempts: 0, refusal: undefined };
            const st = await deliver(hookUrl, secret, again, giveUpMs, outage);
            bump(counters.duplicatesAnswered, String(st ?? again.refusal ?? 'gave up'));
          }),
        );
      }
    });

  // Chaos 1: the worker killed with SIGKILL every ~kill-every seconds, started again at once.
  chaos.push(
    (async () => {
      while (!finished) {
        await sleep(s['kill-every'] * 1000 * (0.75 + Math.random() * 0.5));
        if (finished || !s['kill-every']) break;
        await deployment.worker.kill('SIGKILL');
        events.kills++;
        log(`worker killed with SIGKILL (#${events.kills}); starting it again`);
        // A start that fails needed a hand too: counted, and started again.
        for (let tries = 0; tries < 3; tries++) {
          if (await deployment.worker.start().then(() => true, (err: unknown) => (log(`worker start failed: ${String(err)}`), false))) break;
          startFailures.push(Date.now());
        }
      }
    })(),
  );
  // Chaos 2: backends of storing transactions terminated, again and again.
  chaos.push(
    (async () => {
      while (!finished && s['terminate-every']) {
        await sleep(s['terminate-every'] * 1000 * (0.5 + Math.random()));
        if (finished) break;
        try {
          const rows = await owner<{ pid: number }[]>`
            select pg_terminate_backend(pid) as terminated, pid from pg_stat_activity
            where usename in ('tessera_ingest', 'tessera_app') and xact_start is not null and pid <> pg_backend_pid()
              and state in ('active', 'idle in transaction') and query ilike '%webhook_events%'
            order by random() limit 2`;
          events.terminateRounds++;
          events.terminated += rows.length;
        } catch (err) {
          // Postgres is down: nothing to terminate.
          if (!outage.downAt || outage.readyAt) log(`terminating backends failed: ${String(err)}`);
        }
      }
    })(),
  );
  // Chaos 3: Postgres crash-stopped once in the middle, started again pg-down seconds later.
  chaos.push(
    (async () => {
      await sleep((s.duration * 1000) / 2);
      outage.downAt = Date.now();
      await deployment.postgres.crash();
      outage.goneAt = Date.now();
      log(`Postgres crash-stopped (immediate shutdown); down for ${s['pg-down']} s`);
      await sleep(s['pg-down'] * 1000);
      outage.upAt = Date.now();
      const { readyAt } = await deployment.postgres.start({
        recoverySeconds: s['pg-recovery'],
        onRecovering: () => log(`Postgres started, held in recovery (57P03) for ${s['pg-recovery']} s`),
      });
      outage.readyAt = readyAt;
      log(`Postgres accepting connections again (${sec(outage.upAt, outage.readyAt)} s after its start began)`);
    })(),
  );
  const probing = startProbe(deployment, outage);

  // The sender: paced open loop, every 20 ms its share of the rate.
  log(`sending ${Math.round(s.rate * s.duration)} deliveries about ${s.records} records at ${s.rate}/s`);
  const sendStart = Date.now();
  let planned = 0;
  let lastReport = sendStart;
  while (Date.now() - sendStart < s.duration * 1000) {
    const due = Math.floor(((Date.now() - sendStart) / 1000) * s.rate);
    for (; planned < due; planned++) {
      const record = planned % s.records;
      const version = ++nextVersion[record]!;
      const data = { ...records[record]!, name: `Record ${record} v${version}`, version, updated_at: new Date(base + version * 1000).toISOString() };
      const event = generateEvent(version === 1 ? 'user.created' : 'user.updated', data);
      const d: Delivery = { msgId: event.id, body: JSON.stringify(event), record, version, attempts: 0 };
      deliveries.push(d);
      sends.push(sendOne(d));
    }
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      const accepted = deliveries.filter((d) => d.outcome === 'accepted').length;
      log(`sent ${deliveries.length}, accepted ${accepted}, retries ${counters.retries}, statuses ${JSON.stringify(Object.fromEntries(counters.byStatus))}`);
    }
    await sleep(20);
  }
  log(`sending done (${deliveries.length} deliveries); waiting for every answer`);
  for (let settled = 0; settled < sends.length; ) {
    const batch = sends.slice(settled);
    await Promise.all(batch);
    settled += batch.length;
  }
  finished = true;
  await Promise.all(chaos);
  await probing.stop();

  // Drain: every stored event processed (or given up on), the webhook queue empty.
  log('every delivery answered; waiting for the queue to drain');
  const drainStart = Date.now();
  let pending = -1;
  for (;;) {
    try {
      const [row] = await owner<{ pending: number }[]>`
        select count(*)::int as pending from webhook_events where integration_id = ${integrationId} and status not in ('PROCESSED', 'DEAD')`;
      pending = row!.pending;
    } catch {
      pending = -1;
    }
    if (pending === 0 || Date.now() - drainStart > s.drain * 1000) break;
    await sleep(1000);
  }
  const drainMs = Date.now() - drainStart;

  // The checks.
  const accepted = deliveries.filter((d) => d.outcome === 'accepted');
  const acceptedIds = accepted.map((d) => d.msgId);
  const stored = new Map<string, { status: string; n: number }>();
  for (const row of await owner<{ provider_event_id: string; status: string; n: number }[]>`
    select provider_event_id, min(status::text) as status, count(*)::int as n from webhook_events where integration_id = ${integrationId} group by provider_event_id`)
    stored.set(row.provider_event_id, { status: row.status, n: row.n });
  const missingEvents = acceptedIds.filter((id) => !stored.has(id));
  const storedTwice = [...stored.values()].filter((r) => r.n > 1).length;
  const stuck = [...stored.values()].filter((r) => r.status !== 'PROCESSED').length;

  // Expected final state per record: the highest version stored (accepted, or stored although the
  // answer came after the sender had stopped waiting); every accepted event is stored (lost, above).
  const expected = new Map<string, number>();
  for (const d of accepted) expected.set(records[d.record]!.id, Math.max(expected.get(records[d.record]!.id) ?? 0, d.version));
  for (const row of await owner<{ id: string; version: number }[]>`
    select payload -> 'data' ->> 'id' as id, max((payload -> 'data' ->> 'version')::int) as version
    from webhook_events where integration_id = ${integrationId} and payload -> 'data' ->> 'id' is not null group by 1`)
    expected.set(row.id, Math.max(expected.get(row.id) ?? 0, row.version));
  const finalRows = await owner<{ external_id: string; external_version: number; name: string }[]>`
    select external_id, external_version::int as external_version, name from users where external_source = ${integrationId}`;
  const final = new Map(finalRows.map((r) => [r.external_id, r]));
  let missingEffects = 0;
  let unexpected = 0;
  for (const [id, version] of expected) {
    const row = final.get(id);
    if (!row) missingEffects++;
    else if (row.external_version !== version || !row.name.endsWith(` v${version}`)) unexpected++;
  }
  // A record version applied twice would leave two audit entries setting that version.
  const [appliedTwice] = await owner<{ n: number }[]>`
    select count(*)::int as n from (
      select a.entity_id, a.changes -> 'external_version' ->> 'new' as version from audit_logs a
      join users u on u.tenant_id = a.tenant_id and a.entity_id = u.id::text
      where a.entity_type = 'users' and u.external_source = ${integrationId} and a.changes ? 'external_version'
      group by 1, 2 having count(*) > 1) twice`;
  const [audited] = await owner<{ n: number }[]>`
    select count(*)::int as n from audit_logs a join users u on u.tenant_id = a.tenant_id and a.entity_id = u.id::text
    where a.entity_type = 'users' and u.external_source = ${integrationId} and a.changes ? 'external_version'`;

  // The outage, seen from outside.
  // Probes started while Postgres was down or recovering (from 0.5 s after the crash began until it accepted connections again):
  // each must be answered 503, or 200 once Postgres is back (held until then), never anything else.
  outage.probes.sort((a, b) => a.at - b.at);
  // Until Postgres accepts connections again: stopped, then in crash recovery (57P03, "starting up").
  const during = outage.probes.filter((p) => outage.downAt && outage.readyAt && p.at >= outage.downAt + 500 && p.at < outage.readyAt);
  const heldUntilBack = (p: Outage['probes'][number]) => outage.readyAt !== undefined && p.at + p.ms >= outage.readyAt && p.graphql === 200 && p.ready === 200;
  const badDuring = during.filter((p) => !(p.graphql === 503 && p.ready === 503) && !heldUntilBack(p));
  const duringMs = during.filter((p) => p.graphql === 503).map((p) => p.ms).sort((a, b) => a - b);
  const recovered = outage.probes.find((p) => outage.readyAt && p.at >= outage.readyAt && p.graphql === 200 && p.ready === 200);
  const recoverMs = recovered && outage.readyAt ? recovered.at + recovered.ms - outage.readyAt : undefined;
  const lastProbe = outage.probes.at(-1);
  const recoveredForGood = !!lastProbe && lastProbe.graphql === 200 && lastProbe.ready === 200;
  const webhook2xxDuring = [...outage.webhooksDuringOutage].filter(([st]) => st.startsWith('2')).reduce((n, [, c]) => n + c, 0);

  const hands = [...deployment.hands(), ...startFailures.map((at) => ({ process: 'worker (start after a kill failed)', at, code: 1, signal: null }))];
  const lost = missingEvents.length + missingEffects;
  const duplicated = storedTwice + appliedTwice!.n;
  const undelivered = deliveries.length - accepted.length;
  const outageFailures = badDuring.length + (recoveredForGood ? 0 : 1) + (during.length ? 0 : 1);
  const errorLines = Object.fromEntries([...deployment.apis, deployment.worker].map((p) => [p.name, p.errorLines().length]));
  const errorMessages = [...new Set([...deployment.apis, deployment.worker].flatMap((p) => p.errorLines().map((l) => `${p.name}: ${(JSON.parse(l) as { msg?: string }).msg}`)))];
  const lines = [
    `# npm run chaos — ${new Date().toISOString()}`,
    '',
    `settings: ${JSON.stringify(s)}; load average at the end ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| deliveries (first sends) | ${deliveries.length} |`,
    `| accepted (2xx) | ${accepted.length} |`,
    `| delivered again with the same webhook-id | ${counters.duplicatesSent} (answers ${JSON.stringify(Object.fromEntries(counters.duplicatesAnswered))}) |`,
    `| HTTP attempts, retries | ${counters.attempts}, ${counters.retries} |`,
    `| answers by status | ${[...counters.byStatus].map(([k, v]) => `${k}: ${v}`).join(', ')} |`,
    `| worker SIGKILLs | ${events.kills} |`,
    `| storing transactions terminated (pg_terminate_backend) | ${events.terminated} in ${events.terminateRounds} rounds |`,
    `| Postgres crash-stop, down, restart (crash recovery) | ${sec(outage.downAt, outage.goneAt)}, ${sec(outage.goneAt, outage.upAt)}, ${sec(outage.upAt, outage.readyAt)} s |`,
    `| probes started while Postgres was down or recovering (GraphQL \`me\` + readyz, every 250 ms) | ${during.length}: ${during.filter((p) => p.graphql === 503).length} answered 503 (p50 ${duringMs[Math.floor(duringMs.length / 2)] ?? '-'} ms, max ${duringMs.at(-1) ?? '-'} ms), ${during.filter(heldUntilBack).length} held and answered 200 once it was back, ${badDuring.length} other${badDuring.length ? ` ${JSON.stringify(badDuring.slice(0, 5))}` : ''} |`,
    `| webhook answers during the outage | ${[...outage.webhooksDuringOutage].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'} (2xx: ${webhook2xxDuring}) |`,
    `| API answering again after Postgres accepts connections: first webhook 2xx, first probe with GraphQL and readyz 200 | ${sec(outage.readyAt, outage.firstAcceptedAfter)} s, ${recoverMs === undefined ? 'never' : `${(recoverMs / 1000).toFixed(1)} s`} (by itself, no restart) |`,
    `| events stored, audit entries of record versions | ${stored.size}, ${audited!.n} |`,
    `| drain after the last answer | ${(drainMs / 1000).toFixed(1)} s |`,
    `| the sender's own event-loop delay (p99, max) | ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, ${(loopDelay.max / 1e6).toFixed(0)} ms |`,
    `| error-level log lines | ${JSON.stringify(errorLines)}${errorMessages.length ? ` (${errorMessages.slice(0, 5).join('; ')})` : ''} |`,
    '',
    '| check | count |',
    '|---|---:|',
    `| **lost** (2xx but event or effect missing) | ${lost} |`,
    `| **duplicated** (stored twice or a version applied twice) | ${duplicated} |`,
    `| **unexpected** (final state not the highest version stored) | ${unexpected} |`,
    `| **stuck** (not PROCESSED after the drain) | ${stuck} |`,
    `| undelivered (refused or given up by the sender) | ${undelivered}${undelivered ? ` e.g. ${deliveries.find((d) => d.outcome !== 'accepted')?.refusal ?? 'gave up'}` : ''} |`,
    `| processes that needed a hand | ${hands.length}${hands.length ? ` ${JSON.stringify(hands)}` : ''} |`,
    `| outage checks failed (503 while down, recovered by itself) | ${outageFailures} |`,
  ];
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  fs.writeFileSync(OUT_FILE, lines.join('\n') + '\n');
  console.log(lines.join('\n'));

  await owner.end({ timeout: 2 }).catch(() => undefined);
  await deployment.stop();
  const failed = lost + duplicated + unexpected + stuck + undelivered + hands.length + outageFailures;
  if (failed) {
    console.log(`\nFAILED: logs kept in ${deployment.dataDir}/logs`);
    process.exitCode = 1;
  } else {
    for (const d of ['postgres', 'run']) fs.rmSync(path.join(deployment.dataDir, d), { recursive: true, force: true });
    console.log(`\nall checks 0 (logs in ${deployment.dataDir}/logs)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
