/**
 * Push: changes made in Tessera to users that a USER_SERVICE integration mirrors are sent to the
 * provider by a job.
 *
 * - Only changes by a USER actor are pushed. Webhook and sync handlers write as the INTEGRATION
 *   actor and never go through here, so what the provider told us is never sent back (no echo loop).
 * - The push row and its job are written in the change's own transaction (pg-boss send with our
 *   transaction as `db`): a rolled-back change pushes nothing.
 * - The payload is a snapshot taken at the change and the Idempotency-Key is fixed at enqueue, so a
 *   retried attempt sends the same request and the provider applies it once.
 * - Pushes of one user run one at a time (queue policy `singleton`, keyed by integration and user),
 *   and a push overtaken by a newer one for the same user is SUPERSEDED rather than sent: the newest
 *   local state wins whatever order retries finish in.
 * - The provider's answer (its id and version) is written back onto our user under the conflict rule
 *   (only if newer), so when the provider's webhook for this same change comes back it carries a
 *   version we already hold and is applied as 'unchanged'.
 * - Transient failures (5xx, timeouts, open circuit, 429) are retried with backoff; a 4xx the provider
 *   will answer again is final. After the last attempt the push is DEAD (and counts as a dead letter
 *   in the integration's health).
 */
import crypto from 'node:crypto';
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { App } from '../app.js';
import type { Tx } from '../db/client.js';
import { integrationPushes, integrations, users, type IntegrationPushRow, type UserRow } from '../db/schema.js';
import type { Scope } from '../db/scope.js';
import { withTenant, type TenantSettings } from '../db/tenant-context.js';
import { QUEUES, type JobOf } from '../jobs/boss.js';
import { reevaluateHealth } from '../modules/integration-health/service.js';
import { ProviderHttpError } from './errors.js';
import { loadIntegrationTarget } from './targets.js';

export interface PushJobData {
  tenantId: string;
  integrationId: string;
  pushId: string;
}

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

const MAX_ERROR_LENGTH = 2000;

const payloadOf = (u: UserRow): UserPayload => ({ email: u.email, name: u.name, active: u.status !== 'DEACTIVATED' });

/**
 * Called by the users service after it changed a user, inside the same transaction. Enqueues a push
 * when a USER made the change, a mirrored field changed, and the tenant has an enabled
 * USER_SERVICE integration (the one the user is linked to, else the oldest).
 */
export async function pushUserChange(tx: Tx, scope: Scope, before: UserRow | null, after: UserRow): Promise<void> {
  if (scope.settings.actorType !== 'USER' || !scope.jobs) return;
  const payload = payloadOf(after);
  if (before && JSON.stringify(payloadOf(before)) === JSON.stringify(payload)) return; // e.g. a role or password change
  const [integration] = await tx
    .select({ id: integrations.id })
    .from(integrations)
    .where(
      and(
        eq(integrations.provider, 'USER_SERVICE'),
        eq(integrations.enabled, true),
        after.externalSource ? eq(integrations.id, after.externalSource) : undefined,
      ),
    )
    .orderBy(asc(integrations.createdAt), asc(integrations.id))
    .limit(1);
  if (!integration) return;
  // A user that was never at the provider and is deactivated here has nothing to push.
  if (!after.externalId && !payload.active) return;
  const id = crypto.randomUUID();
  await tx.insert(integrationPushes).values({
    tenantId: after.tenantId,
    id,
    integrationId: integration.id,
    resource: 'users',
    recordId: after.id,
    operation: !after.externalId ? 'CREATE' : payload.active ? 'UPDATE' : 'DEACTIVATE',
    payload,
    idempotencyKey: `tessera-push-${id}`,
  });
  await scope.jobs.enqueue<PushJobData>(tx, QUEUES.push, [{ tenantId: after.tenantId, integrationId: integration.id, pushId: id }], {
    singletonKey: () => `${integration.id}:${after.id}`,
  });
}

const integrationActor = (tenantId: string, integrationId: string, job?: string): TenantSettings => ({
  tenantId,
  actorType: 'INTEGRATION',
  actorId: integrationId,
  requestId: job,
});

type Claim = { push: IntegrationPushRow; user: UserRow } | { done: 'SENT' | 'SUPERSEDED' | 'DEAD' | 'MISSING' };

/** The push job: sends one push, or throws (after recording FAILED/DEAD) so pg-boss retries it. */
export async function processPush(app: App, job: JobOf<PushJobData>): Promise<string> {
  const { tenantId, integrationId, pushId } = job.data;
  const actor = integrationActor(tenantId, integrationId, `job:${job.id}`);
  const claim: Claim = await withTenant(app.db, actor, async (tx) => {
    const [push] = await tx.select().from(integrationPushes).where(eq(integrationPushes.id, pushId)).for('update');
    if (!push) return { done: 'MISSING' };
    if (push.status === 'SENT' || push.status === 'SUPERSEDED' || push.status === 'DEAD') return { done: push.status };
    const [newer] = await tx
      .select({ id: integrationPushes.id })
      .from(integrationPushes)
      .where(and(eq(integrationPushes.integrationId, integrationId), eq(integrationPushes.recordId, push.recordId), gt(integrationPushes.seq, push.seq)))
      .limit(1);
    const [user] = await tx.select().from(users).where(eq(users.id, push.recordId));
    if (newer || !user) {
      await tx
        .update(integrationPushes)
        .set({ status: 'SUPERSEDED', lastError: user ? null : 'The user was deleted', updatedAt: new Date() })
        .where(eq(integrationPushes.id, pushId));
      return { done: 'SUPERSEDED' };
    }
    const [claimed] = await tx
      .update(integrationPushes)
      .set({ attempts: sql`${integrationPushes.attempts} + 1`, updatedAt: new Date() })
      .where(eq(integrationPushes.id, pushId))
      .returning();
    return { push: claimed!, user };
  });
  if ('done' in claim) {
    if (claim.done === 'SUPERSEDED') app.metrics.pushes.inc({ outcome: 'superseded' });
    return claim.done.toLowerCase();
  }

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
    await withTenant(app.db, actor, async (tx) => {
      await tx
        .update(integrationPushes)
        .set({ status: 'SENT', lastError: null, externalId: answer.id, externalVersion: answer.version, updatedAt: new Date() })
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
    await recordFailure(app, actor, pushId, final ? 'DEAD' : 'FAILED', err);
    app.metrics.pushes.inc({ outcome: final ? 'dead' : 'failed' });
    if (final) {
      await reevaluateHealth(app, tenantId, integrationId).catch(() => undefined);
      return 'dead'; // completed: nothing more will be tried
    }
    throw err;
  }
}

/** The dead-letter queue's handler: a push whose job ran out of attempts (or expired) is DEAD. */
export async function markPushDead(app: App, job: JobOf<PushJobData>): Promise<void> {
  const { tenantId, integrationId, pushId } = job.data;
  const changed = await withTenant(app.db, integrationActor(tenantId, integrationId, `job:${job.id}`), (tx) =>
    tx
      .update(integrationPushes)
      .set({ status: 'DEAD', lastError: sql`coalesce(${integrationPushes.lastError}, 'Attempts exhausted')`, updatedAt: new Date() })
      .where(and(eq(integrationPushes.id, pushId), or(eq(integrationPushes.status, 'PENDING'), eq(integrationPushes.status, 'FAILED'))))
      .returning({ id: integrationPushes.id }),
  );
  if (changed.length) await reevaluateHealth(app, tenantId, integrationId).catch(() => undefined);
}

async function recordFailure(app: App, actor: TenantSettings, pushId: string, status: 'FAILED' | 'DEAD', err: unknown) {
  const message = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);
  await withTenant(app.db, actor, (tx) =>
    tx.update(integrationPushes).set({ status, lastError: message, updatedAt: new Date() }).where(eq(integrationPushes.id, pushId)),
  ).catch((e: unknown) => app.log.warn({ err: e, pushId }, 'could not record a push failure'));
}

class PermanentPushError extends Error {}
