/**
 * Durable jobs on pg-boss 10 (queue in Postgres, SKIP LOCKED fetches, so any number of processes
 * share it).
 *
 * Two connections, two roles:
 *  - the pg-boss instance runs as tessera_queue, which owns the pgboss schema (it creates a partition
 *    table per queue) and runs maintenance (expiry, retries, dead letters), which no other role can do;
 *  - enqueueing happens inside our own transaction (`enqueue(tx, …)`, as tessera_app or the webhook
 *    receiver's tessera_ingest), so a job exists exactly when the row that caused it was committed
 *    (ARCHITECTURE invariant 6). Those roles may only INSERT jobs of their transaction's tenant on
 *    the tenant queues (migrations/0011_least_privilege.sql), and every worker confirms a job's
 *    tenant by finding the row the job is about under that tenant's RLS.
 *
 * Every queue of ./queues.ts is created at start-up with its explicit retry, backoff and expiry
 * (pg-boss's SQL defaults differ from its docs; a send to a missing queue silently returns null).
 */
import crypto from 'node:crypto';
import PgBoss from 'pg-boss';
import type { Config } from '../config.js';
import type postgres from 'postgres';
import { rawClientOf, type Tx } from '../db/client.js';
import type { JobEnqueuer } from '../db/tenant-transaction.js';
import type { Logger } from '../logger.js';
import { PROVIDERS } from '../db/providers.js';
import { JOB_SCHEMA } from '../db/job-schema.js';
import { QUEUES, queuePolicies, type QueuePolicy } from './queues.js';

/** A job as our handlers see it (attempt = retryCount + 1; the last one is retryCount = retryLimit). */
export type JobOf<T> = PgBoss.JobWithMetadata<T>;
export type JobHandler<T> = (job: JobOf<T>) => Promise<unknown>;
export interface WorkOptions {
  workers?: number;
  batchSize?: number;
  concurrency?: number;
}

export class Jobs implements JobEnqueuer {
  readonly boss: PgBoss;
  private readonly workerIds = new Map<string, string[]>();
  /** Every queue created at start-up, so depth metrics report empty queues as 0. */
  private readonly queueNames = new Set<string>();
  private readonly runsWorkers: boolean;
  private started = false;
  private readonly loops = new Set<{ stop: () => Promise<void> }>();

  constructor(
    private readonly config: Config,
    /** tessera_queue's connection URL. */
    url: string,
    private readonly log: Logger,
  ) {
    this.runsWorkers = config.PROCESS_ROLE !== 'api';
    this.boss = new PgBoss({
      connectionString: url,
      schema: JOB_SCHEMA,
      max: config.JOB_POOL_SIZE,
      application_name: 'tessera-jobs',
      // Maintenance (expiry of crashed workers' jobs, retries, dead letters) and cron run where workers do.
      supervise: this.runsWorkers,
      schedule: this.runsWorkers,
      maintenanceIntervalSeconds: config.JOB_MAINTENANCE_INTERVAL_SECONDS,
      pollingIntervalSeconds: config.JOB_POLL_INTERVAL_SECONDS,
      // Passed on to pg's Pool (not in pg-boss's types), which by default waits forever for a
      // connection: fail fast while the database is unreachable.
      ...({ connectionTimeoutMillis: 2000 } as object),
    });
    // pg-boss emits errors (e.g. the database going away) as events; unhandled, they would crash the process.
    this.boss.on('error', (err) => this.log.warn({ err }, 'job queue error'));
    // pg-boss 10 completes (or fails) a fetched batch without awaiting it (timgit/pg-boss #577): with
    // the database gone that promise rejects unhandled. Observe it here; the jobs stay active, expire
    // and are retried (handlers are idempotent).
    for (const method of ['complete', 'fail'] as const) {
      const original = this.boss[method].bind(this.boss) as (...args: unknown[]) => Promise<unknown>;
      (this.boss as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const result = original(...args);
        result.catch((err: unknown) => this.log.warn({ err, queue: args[0] }, `job ${method} failed; the jobs will expire and be retried`));
        return result;
      };
    }
  }

  get workersEnabled(): boolean {
    return this.runsWorkers;
  }

  /** Starts pg-boss and creates every queue (idempotent). */
  async start(): Promise<void> {
    try {
      await this.boss.start();
    } catch (err) {
      // pg-boss 10 can neither finish nor stop a start that failed half-way (its stop() is a no-op
      // until a start completed, a second start() returns at once): close its pool, and let the
      // caller drop this instance and build another (createAppWhenReachable does).
      await (this.boss.getDb() as { close?: () => Promise<void> }).close?.().catch(() => undefined);
      throw err;
    }
    this.started = true;
    for (const [name, policy] of queuePolicies(this.config)) await this.createQueue(name, policy);
  }

  /** Creates the queue, or brings an existing one's policy in line with the configuration. */
  async createQueue(name: string, policy: QueuePolicy): Promise<void> {
    const existing = await this.boss.getQueue(name);
    this.queueNames.add(name);
    const options = { policy: 'standard', ...policy } as never;
    if (existing) await this.boss.updateQueue(name, options);
    else await this.boss.createQueue(name, options);
  }

  /**
   * Enqueues jobs inside the caller's transaction (one statement for any number of jobs): they
   * exist if and only if that transaction commits. Call `wake(queue)` after the commit.
   */
  async enqueue<T extends object>(tx: Tx, queue: string, data: T[], opts: { startAfterSeconds?: number } = {}): Promise<string[]> {
    const jobs = data.map((d) => ({ id: crypto.randomUUID(), data: d }));
    const inserted = await this.insertJobs(rawClientOf(tx), queue, jobs, opts.startAfterSeconds);
    // Nothing is inserted when the queue is missing (pg-boss joins the queue table): never let that pass silently.
    if (inserted !== jobs.length) throw new Error(`Queue ${queue} did not accept the jobs (missing queue?)`);
    return jobs.map((j) => j.id);
  }

  /**
   * pg-boss's insert statement for jobs with ids the caller derived from what they are about (e.g.
   * one provider event), captured without running it, so the caller can pipeline it in its own
   * transaction (inTenantOneTrip). A job whose id already exists is skipped (pg-boss inserts ON
   * CONFLICT DO NOTHING): enqueueing the same work twice, even from two concurrent transactions,
   * leaves one job. The statement's row count says how many were new.
   */
  async insertStatement<T extends object>(queue: string, jobs: { id: string; data: T }[]): Promise<{ text: string; values: unknown[] }> {
    let captured: { text: string; values: unknown[] } | undefined;
    const db = {
      executeSql: async (text: string, values: unknown[] = []) => {
        captured = { text, values: values.map((v) => (v === undefined ? null : v)) };
        return { rows: [] };
      },
    };
    await this.boss.insert(
      jobs.map((j) => ({ id: j.id, name: queue, data: j.data })),
      { db } as never,
    );
    if (!captured) throw new Error('pg-boss produced no insert statement');
    return captured;
  }

  private async insertJobs(raw: postgres.TransactionSql, queue: string, jobs: { id: string; data: object }[], startAfterSeconds?: number): Promise<number> {
    if (jobs.length === 0) return 0;
    let inserted = 0;
    const db = {
      // The job list travels as one JSON text parameter, so no driver-specific jsonb serialization is involved.
      executeSql: async (text: string, values: unknown[] = []) => {
        const result = await raw.unsafe(text, values.map((v) => (v === undefined ? null : v)) as never[]);
        inserted += result.count;
        return { rows: result as unknown[] };
      },
    };
    // Ids chosen by us: pg-boss 10's multi-row insert returns none.
    await this.boss.insert(
      jobs.map((j) => ({ id: j.id, name: queue, data: j.data, ...(startAfterSeconds ? { startAfter: `${startAfterSeconds} seconds` } : {}) })),
      { db } as never,
    );
    return inserted;
  }

  /** Wakes this process's idle workers of a queue now rather than at their next poll. */
  wake(queue: string): void {
    for (const id of this.workerIds.get(queue) ?? []) this.boss.notifyWorker(id);
  }

  /**
   * Runs `handler` for each job of the queue, JOB_WORKERS_PER_QUEUE loops fetching up to
   * JOB_BATCH_SIZE jobs each. Jobs of a batch succeed or fail one by one: a failing job is failed
   * explicitly (so it is retried alone), and pg-boss completes the ones still active.
   */
  async work<T extends object>(queue: string, handler: JobHandler<T>, opts: WorkOptions = {}): Promise<void> {
    await this.workGroups<T>(
      queue,
      (job) => job.id,
      async ([job]) => {
        try {
          await handler(job!);
          return [];
        } catch (error) {
          return [{ job: job!, error }];
        }
      },
      opts,
    );
  }

  /**
   * Like `work`, but the handler takes a group of jobs at once: each fetched batch is split by
   * `groupOf(job)`, groups run up to JOB_CONCURRENCY at a time, and the handler returns the jobs
   * that failed (each failed alone, so it is retried alone); pg-boss completes the rest. Lets a
   * handler apply many jobs in one transaction (one commit, one audit chain lock per group).
   */
  async workGroups<T extends object>(
    queue: string,
    groupOf: (job: JobOf<T>) => string,
    handler: (jobs: JobOf<T>[]) => Promise<{ job: JobOf<T>; error: unknown }[]>,
    opts: WorkOptions = {},
  ): Promise<void> {
    if (!this.runsWorkers) return;
    const workers = opts.workers ?? this.config.JOB_WORKERS_PER_QUEUE;
    const concurrency = opts.concurrency ?? this.config.JOB_CONCURRENCY;
    const ids: string[] = [];
    for (let i = 0; i < workers; i++) {
      let id: string | undefined;
      id = await this.boss.work<T>(
        queue,
        { batchSize: opts.batchSize ?? this.config.JOB_BATCH_SIZE, includeMetadata: true, pollingIntervalSeconds: this.config.JOB_POLL_INTERVAL_SECONDS },
        async (jobs) => {
          const groups = new Map<string, JobOf<T>[]>();
          for (const job of jobs as JobOf<T>[]) {
            const key = groupOf(job);
            const g = groups.get(key);
            if (g) g.push(job);
            else groups.set(key, [job]);
          }
          const pending = [...groups.values()];
          const lane = async () => {
            for (let g = pending.shift(); g; g = pending.shift()) {
              let failed: { job: JobOf<T>; error: unknown }[];
              try {
                failed = await handler(g);
              } catch (err) {
                failed = g.map((job) => ({ job, error: err }));
              }
              for (const f of failed) {
                await this.boss.fail(queue, f.job.id, serializeError(f.error)).catch((e: unknown) => this.log.warn({ err: e, queue }, 'could not fail job'));
              }
            }
          };
          await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, lane));
          // pg-boss sleeps out the polling interval after every batch; fetch again at once instead
          // while there was work (the loop sleeps after the first empty fetch), so a backlog drains
          // at processing speed, not at one batch per worker per interval.
          if (id) this.boss.notifyWorker(id);
        },
      );
      ids.push(id);
    }
    this.workerIds.set(queue, [...(this.workerIds.get(queue) ?? []), ...ids]);
  }

  /** Checks the queue answers; returns the webhook jobs waiting or running, over all providers. */
  async ping(): Promise<number> {
    if (!this.started) throw new Error('job queue not started');
    let n = 0;
    for (const p of PROVIDERS) n += await this.boss.getQueueSize(QUEUES.webhooks(p));
    return n;
  }

  /** Jobs waiting (created or retry) per queue, in one statement: the /metrics queue-depth gauge. */
  async queueDepths(): Promise<Record<string, number>> {
    const depths: Record<string, number> = Object.fromEntries([...this.queueNames].map((q) => [q, 0]));
    const { rows } = (await this.boss.getDb().executeSql(
      `select name, count(*)::int as n from ${JOB_SCHEMA}.job where state < 'active' group by name`,
      [],
    )) as { rows: { name: string; n: number }[] };
    for (const r of rows) if (r.name in depths) depths[r.name] = r.n;
    return depths;
  }

  /** Jobs waiting or running in a queue (for /readyz and metrics). */
  async queueSize(queue: string): Promise<number> {
    return this.boss.getQueueSize(queue);
  }

  /**
   * A background task run where workers do, every `intervalMs` after the previous run ended (never two
   * at once in one process), until stop(). For work too frequent for a cron (pg-boss's finest is a
   * minute) that is safe to run in several processes at once. A failed run is logged and retried.
   */
  every(name: string, intervalMs: number, task: () => Promise<unknown>): void {
    if (!this.runsWorkers) return;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let stopped = false;
    let failing = false; // one warning per failure streak (a database outage would repeat it every interval)
    const run = () => {
      running = Promise.resolve()
        .then(task)
        .then(
          () => {
            if (failing) this.log.info({ task: name }, 'background task recovered');
            failing = false;
          },
          (err: unknown) => {
            if (!failing) this.log.warn({ err, task: name }, 'background task failed; retrying every interval');
            failing = true;
          },
        )
        .finally(() => {
          if (!stopped) timer = setTimeout(run, intervalMs).unref();
        });
    };
    timer = setTimeout(run, intervalMs).unref();
    this.loops.add({
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      },
    });
  }

  /** Stops the background tasks and fetching, lets running jobs finish (up to timeoutMs), then closes the pool. */
  async stop(timeoutMs = 10_000): Promise<void> {
    for (const loop of this.loops) await loop.stop();
    this.loops.clear();
    if (!this.started) return;
    this.started = false;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      this.boss.once('stopped', done);
      this.boss.stop({ graceful: true, timeout: timeoutMs, wait: true }).catch(done);
      setTimeout(done, timeoutMs + 2000).unref();
    });
  }
}

function serializeError(err: unknown): object {
  return err instanceof Error ? { message: err.message, name: err.name } : { message: String(err) };
}
