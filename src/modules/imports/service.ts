/**
 * User imports (issue 15): a CSV or NDJSON file of users, applied by a pg-boss job in batches.
 *
 *  1. `uploadUsers` (POST /imports/users): the body is streamed, never held whole: bytes are hashed
 *     as they pass, csv-parse (or a line splitter for NDJSON) yields rows, each row is validated
 *     (email, name, role), and rows go to import_rows / import_errors in chunks, each its own short
 *     transaction. When the stream ends, one transaction sets the file's hash: the same file (same
 *     bytes) uploaded before answers that import (and this upload's rows are dropped); otherwise the
 *     import is QUEUED and its job enqueued in that transaction.
 *  2. `runImport` (the job): acts for the uploader (their user, or their API key, as they are now: a
 *     deactivated user or revoked key stops it). Batch after batch, ONE transaction locks the import
 *     row, reads the next rows after `applied_through`, creates them through createUsers (the one
 *     creation path, so the same rules, audit and pushes), records per-row errors, advances
 *     `applied_through` and the counters, and publishes progress. A worker that dies loses only its
 *     uncommitted batch; the job comes back (pg-boss expiry) and continues after the last commit. A
 *     job works for at most half its expiry, then enqueues its continuation in its last batch.
 */
import crypto from 'node:crypto';
import readline from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../../auth/roles.js';
import type { Config } from '../../config.js';
import type { AppDb, Tx } from '../../db/client.js';
import { apiKeys, importErrors, importJobs, importRows, type ImportErrorRow, type ImportJobRow } from '../../db/schema.js';
import { actors, inTenant, type JobEnqueuer, type RequestInfo, type Scope, type TenantActor } from '../../db/tenant-transaction.js';
import { AppError, badInput, notFound } from '../../errors.js';
import { QUEUES, type ImportJobData } from '../../jobs/queues.js';
import { publish } from '../../realtime/pubsub.js';
import { fields, textProblem, validate } from '../../validation.js';
import { createUsers } from '../users/service.js';

export type ImportFormat = 'CSV' | 'NDJSON';
export interface ImportDeps {
  db: AppDb;
  jobs: JobEnqueuer;
  config: Pick<Config, 'IMPORT_MAX_BYTES' | 'IMPORT_MAX_ROWS' | 'IMPORT_BATCH_ROWS' | 'IMPORT_JOB_EXPIRE_SECONDS'>;
}

/** Rows staged (and errors recorded) per statement while the file streams in. */
const STAGE_CHUNK = 1000;
const rowInput = z.object({
  email: fields.email,
  name: fields.name,
  role: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']))
    .optional()
    .or(z.literal('').transform(() => undefined)),
});

/** Counts and hashes the bytes as they pass; refuses a body over `max` bytes. */
class Metered extends Transform {
  readonly hash = crypto.createHash('sha256');
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void) {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new AppError('PAYLOAD_TOO_LARGE', `An import file may hold at most ${this.max} bytes`));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/** The file's records, one object per row, with its row number (1 = the first data row). */
async function* recordsOf(format: ImportFormat, input: Readable): AsyncGenerator<{ row: number; record: unknown; error?: string }> {
  if (format === 'CSV') {
    // A header's names are every row's field names (stored with a row's error): unstorable text there is the file's fault.
    const columns = (header: string[]) =>
      header.map((h, i) => {
        const problem = textProblem(h);
        if (problem) throw badInput([{ field: 'file', message: `Column ${i + 1}'s name: ${problem}` }]);
        return h.trim().toLowerCase();
      });
    // pipe() does not pass the file's errors on (a client gone mid-upload, a file over the limit): unheard,
    // they were an uncaught exception that ended the process. The parser fails with them instead.
    const parser = input.on('error', (err) => parser.destroy(err)).pipe(parseCsv({ columns, bom: true, skip_empty_lines: true, relax_column_count: true, trim: true }));
    let row = 0;
    for await (const record of parser) yield { row: ++row, record };
    return;
  }
  let row = 0;
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    row++;
    try {
      yield { row, record: JSON.parse(line) };
    } catch {
      yield { row, record: null, error: 'Not a JSON object' };
    }
  }
}

const actorOf = (job: Pick<ImportJobRow, 'createdBy' | 'role' | 'tenantId' | 'byApiKey'>): Actor => ({ userId: job.createdBy, tenantId: job.tenantId, role: job.role, ...(job.byApiKey ? { apiKeyId: job.createdBy } : {}) });

/**
 * Streams a file into a new import (see the module comment). Returns the import, and whether it is
 * an earlier import of the same file.
 */
export async function uploadUsers(deps: ImportDeps, uploader: Actor, request: RequestInfo, format: ImportFormat, body: Readable): Promise<{ job: ImportJobRow; duplicate: boolean }> {
  const system = actors.system('import-upload', uploader.tenantId, request);
  const id = crypto.randomUUID();
  await inTenant(deps.db, system, (tx) =>
    tx.insert(importJobs).values({ tenantId: uploader.tenantId, id, format, createdBy: uploader.userId, byApiKey: !!uploader.apiKeyId, role: uploader.role, requestId: request.requestId ?? null }),
  );
  const meter = new Metered(deps.config.IMPORT_MAX_BYTES);
  let staged: { tenantId: string; importJobId: string; rowNumber: number; data: unknown }[] = [];
  let failed: { tenantId: string; importJobId: string; rowNumber: number; code: string; message: string; fields: unknown }[] = [];
  let total = 0;
  let valid = 0;
  let invalid = 0;
  const flush = async () => {
    if (!staged.length && !failed.length) return;
    const [s, f] = [staged, failed];
    staged = [];
    failed = [];
    await inTenant(deps.db, system, async (tx) => {
      if (s.length) await tx.insert(importRows).values(s);
      if (f.length) await tx.insert(importErrors).values(f);
    });
  };
  try {
    body.on('error', (err) => meter.destroy(err));
    for await (const { row, record, error } of recordsOf(format, body.pipe(meter))) {
      total = row;
      if (row > deps.config.IMPORT_MAX_ROWS) throw badInput([{ field: 'file', message: `At most ${deps.config.IMPORT_MAX_ROWS} rows` }]);
      const problem = error ?? (record && typeof record === 'object' && !Array.isArray(record) ? undefined : 'Not an object');
      const outcome = problem ? { error: badInput([{ field: 'row', message: problem }]) } : checkRow(record as Record<string, unknown>);
      if ('error' in outcome) {
        invalid++;
        failed.push({ tenantId: uploader.tenantId, importJobId: id, rowNumber: row, code: outcome.error.code, message: outcome.error.message, fields: outcome.error.extensions.fields ?? null });
      } else {
        valid++;
        staged.push({ tenantId: uploader.tenantId, importJobId: id, rowNumber: row, data: outcome.data });
      }
      if (staged.length + failed.length >= STAGE_CHUNK) await flush();
    }
    await flush();
  } catch (err) {
    await inTenant(deps.db, system, (tx) => tx.delete(importJobs).where(eq(importJobs.id, id))).catch(() => undefined);
    if (err instanceof AppError) throw err;
    // The client went away mid-upload: nothing to answer, nothing kept, not a bug.
    if ((err as { code?: unknown })?.code === 'ECONNRESET') throw new AppError('BAD_REQUEST', 'The upload was interrupted');
    // csv-parse's own errors (an unclosed quote…) are the file's fault.
    if (err && typeof err === 'object' && 'code' in err && String((err as { code: unknown }).code).startsWith('CSV_')) throw badInput([{ field: 'file', message: String((err as { message?: unknown }).message).slice(0, 300) }]);
    throw err;
  }
  if (total === 0) {
    await inTenant(deps.db, system, (tx) => tx.delete(importJobs).where(eq(importJobs.id, id)));
    throw badInput([{ field: 'file', message: 'The file holds no rows' }]);
  }
  const fileHash = meter.hash.digest('hex');
  return inTenant(deps.db, system, async (tx) => {
    // One upload of a file at a time per tenant decides which import is "the" import of these bytes.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`import:${uploader.tenantId}:${fileHash}`}, 0))`);
    const [earlier] = await tx.select().from(importJobs).where(eq(importJobs.fileHash, fileHash));
    if (earlier) {
      await tx.delete(importJobs).where(eq(importJobs.id, id));
      return { job: earlier, duplicate: true };
    }
    const [job] = await tx
      .update(importJobs)
      .set({ fileHash, status: 'QUEUED', totalRows: total, validRows: valid, failedRows: invalid, updatedAt: new Date() })
      .where(eq(importJobs.id, id))
      .returning();
    await deps.jobs.enqueue<ImportJobData>(tx, QUEUES.userImport, [{ tenantId: uploader.tenantId, importJobId: id }]);
    return { job: job!, duplicate: false };
  });
}

function checkRow(record: Record<string, unknown>): { data: z.infer<typeof rowInput> } | { error: AppError } {
  for (const [k, v] of Object.entries(record)) {
    // A column's name is stored with the row's error (as its field): it must be storable text too.
    const nameProblem = textProblem(k);
    if (nameProblem) return { error: badInput([{ field: 'row', message: `A column name: ${nameProblem}` }]) };
    const problem = typeof v === 'string' ? textProblem(v) : undefined;
    if (problem) return { error: badInput([{ field: Array.from(k).slice(0, 100).join(''), message: problem }]) }; // by code points: half a surrogate pair is unstorable too
  }
  try {
    return { data: validate(rowInput, record) };
  } catch (err) {
    if (err instanceof AppError) return { error: err };
    throw err;
  }
}

/** Applies an import's next batches (the pg-boss handler). Returns what it did, for the job's output. */
export async function runImport(deps: ImportDeps, data: ImportJobData): Promise<string> {
  const started = Date.now();
  const budgetMs = (deps.config.IMPORT_JOB_EXPIRE_SECONDS * 1000) / 2;
  const system = actors.system('import', data.tenantId, { requestId: `import:${data.importJobId}` });
  const job = await inTenant(deps.db, system, async (tx) => {
    const [row] = await tx.select().from(importJobs).where(eq(importJobs.id, data.importJobId));
    if (!row || row.status === 'SUCCEEDED' || row.status === 'FAILED' || row.status === 'UPLOADING') return row;
    const [key] = row.byApiKey ? await tx.select({ hash: apiKeys.keyHash }).from(apiKeys).where(eq(apiKeys.id, row.createdBy)) : [];
    return { ...row, keyHash: key?.hash };
  });
  if (!job || job.status === 'SUCCEEDED' || job.status === 'FAILED' || job.status === 'UPLOADING') return 'nothing to do';
  const keyHash = 'keyHash' in job ? job.keyHash : undefined;
  const request = { requestId: `import:${job.id}` };
  // The uploader acts: the audit trail names them, and their standing now decides (revoked, deactivated → stop).
  const actor: TenantActor = job.byApiKey ? actors.apiKey(job.createdBy, keyHash ?? '', job.tenantId, request) : actors.user(job.createdBy, job.tenantId, request);
  for (;;) {
    const outcome = await inTenant(deps.db, actor, async (tx, session) => {
      const [current] = await tx.select().from(importJobs).where(eq(importJobs.id, job.id)).for('update');
      if (!current || current.status === 'SUCCEEDED' || current.status === 'FAILED') return 'done' as const;
      if (session.tenantStatus !== 'ACTIVE' || session.userStatus !== 'ACTIVE' || !session.userRole) {
        await finish(tx, current, 'FAILED', job.byApiKey ? 'The API key that started the import is no longer valid' : 'The user who started the import is no longer active');
        return 'done' as const;
      }
      const rows = await tx
        .select()
        .from(importRows)
        .where(and(eq(importRows.importJobId, job.id), gt(importRows.rowNumber, current.appliedThrough)))
        .orderBy(asc(importRows.rowNumber))
        .limit(deps.config.IMPORT_BATCH_ROWS);
      if (!rows.length) {
        await finish(tx, current, 'SUCCEEDED', null);
        return 'done' as const;
      }
      const scope = txScope(tx, actor, deps.jobs);
      // The role the uploader has now, if lower than when they uploaded.
      const role = session.userRole === current.role || ROLE_ORDER.indexOf(session.userRole) > ROLE_ORDER.indexOf(current.role) ? current.role : session.userRole;
      const results = await createUsers(scope, { ...actorOf(current), role }, rows.map((r) => r.data as z.infer<typeof rowInput>));
      const errors = results.flatMap((r, i) => (r.error ? [{ tenantId: job.tenantId, importJobId: job.id, rowNumber: rows[i]!.rowNumber, code: r.error.code, message: r.error.message, fields: r.error.extensions.fields ?? null }] : []));
      if (errors.length) await tx.insert(importErrors).values(errors).onConflictDoNothing();
      const created = results.length - errors.length;
      await tx
        .update(importJobs)
        .set({
          status: 'RUNNING',
          appliedThrough: rows.at(-1)!.rowNumber,
          createdRows: sql`${importJobs.createdRows} + ${created}`,
          failedRows: sql`${importJobs.failedRows} + ${errors.length}`,
          updatedAt: new Date(),
        })
        .where(eq(importJobs.id, job.id));
      await publish(tx, { topic: 'import_job_progress', tenantId: job.tenantId, importJobId: job.id });
      if (Date.now() - started > budgetMs) {
        await deps.jobs.enqueue<ImportJobData>(tx, QUEUES.userImport, [data]);
        return 'continued' as const;
      }
      return 'more' as const;
    });
    if (outcome !== 'more') return outcome;
  }
}

const ROLE_ORDER = ['VIEWER', 'MEMBER', 'ADMIN', 'OWNER'] as const;

async function finish(tx: Tx, job: ImportJobRow, status: 'SUCCEEDED' | 'FAILED', error: string | null) {
  await tx.delete(importRows).where(eq(importRows.importJobId, job.id));
  await tx.update(importJobs).set({ status, error, finishedAt: new Date(), updatedAt: new Date() }).where(eq(importJobs.id, job.id));
  await publish(tx, { topic: 'import_job_progress', tenantId: job.tenantId, importJobId: job.id });
}

/** A scope over one transaction the caller holds (a job's batch): writes are savepoints in it. */
function txScope(tx: Tx, actor: TenantActor, jobs: JobEnqueuer): Scope {
  return { actor, jobs, read: (fn) => fn(tx), write: (fn) => tx.transaction((sp) => fn(sp as unknown as Tx)) };
}

export async function getImportJob(scope: Scope, id: string): Promise<ImportJobRow | null> {
  const [row] = await scope.read((tx) => tx.select().from(importJobs).where(eq(importJobs.id, id)));
  return row ?? null;
}

/** An import's per-row errors, by row number, after `afterRow`. */
export async function listImportErrors(scope: Scope, id: string, first: number, afterRow: number): Promise<ImportErrorRow[]> {
  if (first < 1 || first > 100) throw badInput([{ field: 'first', message: 'Must be between 1 and 100' }]);
  return scope.read((tx) =>
    tx
      .select()
      .from(importErrors)
      .where(and(eq(importErrors.importJobId, id), gt(importErrors.rowNumber, afterRow)))
      .orderBy(asc(importErrors.rowNumber))
      .limit(first),
  );
}

export const requireImportJob = async (scope: Scope, id: string) => (await getImportJob(scope, id)) ?? Promise.reject(notFound('Import'));
