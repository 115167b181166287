/**
 * Push: changes made in Tessera to users that a USER_SERVICE integration mirrors are sent to the
 * provider by a job.
 *
 * - Only changes by a USER or API_KEY actor are pushed. Webhook and sync handlers write as the INTEGRATION
 *   actor and never go through here, so what the provider told us is never sent back (no echo loop).
 * - The push row and its job are written in the change's own transaction (pg-boss insert with our
 *   transaction as `db`): a rolled-back change pushes nothing.
 * - The payload is a snapshot taken at the change and the Idempotency-Key is fixed at enqueue, so a
 *   retried attempt sends the same request and the provider applies it once.
 * - A job is about a record, not a push: it sends that record's newest pending push and marks older
 *   ones SUPERSEDED, so the newest local state wins whatever order jobs and retries run in. One
 *   record's pushes are sent one at a time: the push being sent holds a lease (SENDING, lease_until);
 *   a job that finds a live lease re-enqueues itself for a little later instead of sending in
 *   parallel (pg-boss 10's `singleton` policy is not used: a queued job whose key is active makes
 *   every fetch of the queue fail, stalling all other records). A lease that ran out (a crashed
 *   worker) is taken over and the push re-sent under the same key.
 * - The provider's answer (its id and version) is written back onto our user under the conflict rule
 *   (only if newer), so when the provider's webhook for this same change comes back it carries a
 *   version we already hold and is applied as 'unchanged'.
 * - Transient failures (5xx, timeouts, open circuit, 429) are retried with exponential backoff; a
 *   4xx the provider will answer again is final. After the last attempt the push is DEAD and counts
 *   as a dead letter in the integration's health.
 */
import crypto from 'node:crypto';
import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { integrationPushes, integrations, users, type IntegrationPushRow, type UserRow } from '../db/schema.js';
import { actors, inTenant, type Scope, type TenantActor } from '../db/tenant-transaction.js';
import type { JobOf } from '../jobs/boss.js';
import { QUEUES, type PushJobData } from '../jobs/queues.js';
import type { IntegrationDeps } from './deps.js';
import { failureMessage, JobFailure, ProviderHttpError } from './errors.js';
import { reevaluateHealthInTx } from './health-monitor.js';
import { loadIntegrationTarget } from './targets.js';

/** What we send about a user: the fields the provider holds. */
interface UserPayload {
  email: string;
  name: string;
  active: boolean;
}

interface ProviderUserAnswer {
  id: string;
  version: number;
  updated_at: string;
}

const payloadOf = (u: UserRow): UserPayload => ({ email: u.email, name: u.name, active: u.status !== 'DEACTIVATED' });

/**
 * Called by the users service after it changed a user, inside the same transaction. Enqueues a push
 * when a person or an API key of the tenant made the change (USER or API_KEY actor), a mirrored
 * field changed, and the tenant has an enabled USER_SERVICE integration (the one the user is linked
 * to, else the oldest).
 */
export async function pushUserChange(tx: Tx, scope: Scope, before: UserRow | null, after: UserRow): Promise<void> {
  await pushUserChanges(tx, scope, [{ before, after }]);
}

/**
 * The same for many changes (bulk mutations, imports) in a constant number of statements: one read
 * of the integrations, one insert of the pushes, one insert of their jobs.
 */
export async function pushUserChanges(tx: Tx, scope: Scope, changes: { before: UserRow | null; after: UserRow }[]): Promise<void> {
  if ((scope.actor.actorType !== 'USER' && scope.actor.actorType !== 'API_KEY') || !scope.jobs) return;
  const due = changes.filter(({ before, after }) => {
    const payload = payloadOf(after);
    if (before && JSON.stringify(payloadOf(before)) === JSON.stringify(payload)) return false; // e.g. a role or password change
    return !!after.externalId || payload.active; // a user never at the provider and deactivated here has nothing to push
  });
  if (!due.length) return;
  const enabled = await tx
    .select({ id: integrations.id })
    .from(integrations)
    .where(and(eq(integrations.provider, 'USER_SERVICE'), eq(integrations.enabled, true)))
    .orderBy(asc(integrations.createdAt), asc(integrations.id));
  if (!enabled.length) return;
  const pushes = due.flatMap(({ after }) => {
    const integration = after.externalSource ? enabled.find((i) => i.id === after.externalSource) : enabled[0];
    if (!integration) return [];
    const id = crypto.randomUUID();
    const payload = payloadOf(after);
    return [
      {
        tenantId: after.tenantId,
        id,
        integrationId: integration.id,
        resource: 'users',
        recordId: after.id,
        operation: !after.externalId ? 'CREATE' : payload.active ? 'UPDATE' : 'DEACTIVATE',
        payload,
        idempotencyKey: `tessera-push-${id}`,
      },
    ];
  });
  if (!pushes.length) return;
  await tx.insert(integrationPushes).values(pushes);
  await scope.jobs.enqueue<PushJobData>(
    tx,
    QUEUES.push,
    pushes.map((p) => ({ tenantId: p.tenantId, integrationId: p.integrationId, recordId: p.recordId })),
  );
}

/** How long a push may stay SENDING before another job may take it over (a worker died mid-send). */
const LEASE_MS = 2 * 60_000;
/** A job that finds another push of its record in flight comes back this much later. */
const DEFER_SECONDS = 2;

type Claim = { push: IntegrationPushRow; user: UserRow } | { done: 'NOTHING' | 'DEFERRED' };

/** The push job: sends one record's newest push, or throws (after recording FAILED) so pg-boss retries. */
export async function processPush(app: IntegrationDeps, job: JobOf<PushJobData>): Promise<string> {
  const { tenantId, integrationId, recordId } = job.data;
  const actor = actors.integration(integrationId, tenantId, { requestId: `job:${job.id}` });
  const claim: Claim = await inTenant(app.db, actor, async (tx) => {
    // Row locks on the record's open pushes serialize concurrent jobs of the same record.
    const open = await tx
      .select()
      .from(integrationPushes)
      .where(and(eq(integrationPushes.integrationId, integrationId), eq(integrationPushes.recordId, recordId), inArray(integrationPushes.status, ['PENDING', 'SENDING', 'FAILED'])))
      .orderBy(asc(integrationPushes.seq))
      .for('update');
    if (open.length === 0) return { done: 'NOTHING' };
    const now = Date.now();
    if (open.some((p) => p.status === 'SENDING' && p.leaseUntil && p.leaseUntil.getTime() > now)) {
      await app.jobs.enqueue<PushJobData>(tx, QUEUES.push, [job.data], { startAfterSeconds: DEFER_SECONDS });
      return { done: 'DEFERRED' };
    }
    const newest = open.at(-1)!;
    const older = open.slice(0, -1).map((p) => p.id);
    if (older.length) {
      await tx.update(integrationPushes).set({ status: 'SUPERSEDED', leaseUntil: null, updatedAt: new Date() }).where(inArray(integrationPushes.id, older));
      app.metrics.pushes.inc({ outcome: 'superseded' }, older.length);
    }
    const [user] = await tx.select().from(users).where(eq(users.id, recordId));
    if (!user) {
      await tx.update(integrationPushes).set({ status: 'SUPERSEDED', lastError: 'The user was deleted', leaseUntil: null, updatedAt: new Date() }).where(eq(integrationPushes.id, newest.id));
      return { done: 'NOTHING' };
    }
    const [claimed] = await tx
      .update(integrationPushes)
      .set({ status: 'SENDING', leaseUntil: new Date(now + LEASE_MS), attempts: sql`${integrationPushes.attempts} + 1`, updatedAt: new Date() })
      .where(eq(integrationPushes.id, newest.id))
      .returning();
    return { push: claimed!, user };
  });
  if ('done' in claim) return claim.done.toLowerCase();
  const pushId = claim.push.id;

  const { push, user } = claim;
  const payload = push.payload as UserPayload;
  try {
    const target = await loadIntegrationTarget(app, tenantId, integrationId);
    if (!target) throw new PermanentPushError('The integration is disabled or was deleted');
    const client = app.integrations.clients.client(target);
    const opts = { idempotencyKey: push.idempotencyKey };
    const linked = user.externalSource === integrationId && user.externalId ? user.externalId : null;
    let answer: ProviderUserAnswer;
    if (!linked) {
      answer = (await client.post<ProviderUserAnswer>('/users', { email: payload.email, name: payload.name }, opts)).body;
    } else if (!payload.active) {
      answer = (await client.request<ProviderUserAnswer>('DELETE', `/users/${encodeURIComponent(linked)}`, opts)).body;
    } else {
      answer = (await client.request<ProviderUserAnswer>('PATCH', `/users/${encodeURIComponent(linked)}`, { ...opts, body: { email: payload.email, name: payload.name, status: 'active' } })).body;
    }
    await inTenant(app.db, actor, async (tx) => {
      await tx
        .update(integrationPushes)
        .set({ status: 'SENT', lastError: null, leaseUntil: null, externalId: answer.id, externalVersion: answer.version, updatedAt: new Date() })
        .where(eq(integrationPushes.id, pushId));
      // The link and version the provider answered, under the conflict rule (only if newer); our
      // updated_at is left alone: the provider's copy of our change is not a change of ours.
      await tx
        .update(users)
        .set({ externalSource: integrationId, externalId: answer.id, externalVersion: answer.version, externalUpdatedAt: new Date(answer.updated_at) })
        .where(
          and(
            eq(users.id, user.id),
            or(isNull(users.externalId), and(eq(users.externalSource, integrationId), eq(users.externalId, answer.id))),
            sql`(coalesce(${users.externalVersion}, -1), coalesce(${users.externalUpdatedAt}, '-infinity')) < (${answer.version}::bigint, ${answer.updated_at}::timestamptz)`,
          ),
        );
    });
    app.metrics.pushes.inc({ outcome: 'sent' });
    return 'sent';
  } catch (err) {
    const permanent = err instanceof PermanentPushError || (err instanceof ProviderHttpError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429);
    const final = permanent || job.retryCount >= job.retryLimit;
    await recordFailure(app, actor, integrationId, pushId, final ? 'DEAD' : 'FAILED', err);
    app.metrics.pushes.inc({ outcome: final ? 'dead' : 'failed' });
    if (final) return 'dead'; // completed: nothing more will be tried
    throw err;
  }
}

/**
 * The dead-letter queue's handler: the record's job ran out of attempts (or expired with a crashed
 * worker). Its open pushes are DEAD unless another job is sending one right now.
 */
export async function markPushDead(app: IntegrationDeps, job: JobOf<PushJobData>): Promise<void> {
  const { tenantId, integrationId, recordId } = job.data;
  const changed = await inTenant(app.db, actors.integration(integrationId, tenantId, { requestId: `job:${job.id}` }), async (tx) => {
    const dead = await tx
      .update(integrationPushes)
      .set({ status: 'DEAD', leaseUntil: null, lastError: sql`coalesce(${integrationPushes.lastError}, 'Attempts exhausted')`, updatedAt: new Date() })
      .where(
        and(
          eq(integrationPushes.integrationId, integrationId),
          eq(integrationPushes.recordId, recordId),
          or(inArray(integrationPushes.status, ['PENDING', 'FAILED']), and(eq(integrationPushes.status, 'SENDING'), sql`${integrationPushes.leaseUntil} < now()`)),
        ),
      )
      .returning({ id: integrationPushes.id });
    if (dead.length) await reevaluateHealthInTx(app, tx, tenantId, integrationId);
    return dead;
  });
  if (changed.length) app.metrics.pushes.inc({ outcome: 'dead' }, changed.length);
}

/** Records the failure; a DEAD push counts as a dead letter, so its health is re-evaluated in the same commit. */
async function recordFailure(app: IntegrationDeps, actor: TenantActor, integrationId: string, pushId: string, status: 'FAILED' | 'DEAD', err: unknown) {
  app.log.warn({ err, pushId, status }, 'push failed'); // the full error, for operators; the push keeps a client-safe one
  const message = failureMessage(err);
  await inTenant(app.db, actor, async (tx) => {
    await tx.update(integrationPushes).set({ status, lastError: message, leaseUntil: null, updatedAt: new Date() }).where(eq(integrationPushes.id, pushId));
    if (status === 'DEAD') await reevaluateHealthInTx(app, tx, actor.tenantId, integrationId);
  }).catch((e: unknown) => app.log.warn({ err: e, pushId }, 'could not record a push failure'));
}

class PermanentPushError extends JobFailure {}

/** Registers the push worker and its dead-letter worker. */
export async function startPushWorkers(app: IntegrationDeps): Promise<void> {
  await app.jobs.work<PushJobData>(QUEUES.push, (job) => processPush(app, job), { workers: 1, batchSize: 10, concurrency: 4 });
  await app.jobs.work<PushJobData>(QUEUES.pushDead, (job) => markPushDead(app, job), { workers: 1, batchSize: 10 });
}
