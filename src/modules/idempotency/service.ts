/**
 * Idempotent mutations (issue 15): what an `Idempotency-Key` header means, in the operation's own
 * tenant transaction, so the stored response and the mutation's effects commit (or vanish) together.
 *
 *  1. `claimIdempotencyKey`, before execution: take a transaction-scoped advisory lock named by
 *     tenant + principal + key, without waiting (held by a running request: IDEMPOTENCY_KEY_IN_USE);
 *     then, in a statement of its own (a fresh snapshot that sees whatever committed before the lock
 *     was ours), read the live record: the same request → its stored response (a replay); another
 *     request → IDEMPOTENCY_KEY_REUSED; none → run the mutation.
 *  2. `storeIdempotentResponse`, after execution and before COMMIT: insert the response (an expired
 *     record of the key is overwritten) and prune a few of the tenant's expired records.
 * Responses are stored sealed (AES-GCM, bound to tenant + principal + key): a response may carry a
 * secret shown once (an API key, a SCIM token, an invitation link), which must not sit in plain text.
 * The lock dies with the transaction, after the record is committed, so a request that gets the lock
 * next sees the record. A request whose transaction rolls back (the operation failed as a whole, or
 * the process died) leaves neither effects nor record, and its retry runs afresh.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import { idempotencyRecords } from '../../db/schema.js';
import type { TenantRole } from '../../auth/tokens.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { AppError } from '../../errors.js';
import type { SecretBox } from '../../integrations/secrets.js';

export interface IdempotencyClaim {
  principalId: string;
  key: string;
  /** SHA-256 of the operation and its variables: what "the same request" means. */
  requestHash: string;
}

/** What is replayed: the HTTP status and the GraphQL response body; and the caller's role when it was made. */
export interface StoredResponse {
  status: number;
  body: unknown;
  /** Absent in records stored before it was kept. */
  role?: TenantRole;
}

/** Expired records pruned per store (the tenant's own; the stores keep the table at its live size). */
const PRUNE_PER_STORE = 20;

const lockName = (scope: Scope, c: IdempotencyClaim) => `idempotency:${scope.actor.tenantId}:${c.principalId}:${c.key}`;
const sealBinding = (scope: Scope, c: IdempotencyClaim) => `${scope.actor.tenantId}/${c.principalId}/${c.key}/idempotency`;

export async function claimIdempotencyKey(scope: Scope, claim: IdempotencyClaim, box: SecretBox): Promise<StoredResponse | null> {
  const [lock] = (await scope.read((tx) => tx.execute(sql`select pg_try_advisory_xact_lock(hashtextextended(${lockName(scope, claim)}, 0)) as locked`))) as unknown as { locked: boolean }[];
  if (!lock?.locked) throw new AppError('IDEMPOTENCY_KEY_IN_USE', undefined, { retryAfter: 1 });
  const [row] = await scope.read((tx) =>
    tx
      .select({ requestHash: idempotencyRecords.requestHash, response: idempotencyRecords.response })
      .from(idempotencyRecords)
      .where(and(eq(idempotencyRecords.principalId, claim.principalId), eq(idempotencyRecords.key, claim.key), gt(idempotencyRecords.expiresAt, sql`now()`))),
  );
  if (!row) return null;
  if (row.requestHash !== claim.requestHash) throw new AppError('IDEMPOTENCY_KEY_REUSED');
  return unseal(box, row.response, sealBinding(scope, claim));
}

/** A record that does not open under its own binding (moved or altered in the database) is not this request's. */
function unseal(box: SecretBox, stored: unknown, binding: string): StoredResponse {
  try {
    return JSON.parse(box.decrypt((stored as { sealed: string }).sealed, binding)) as StoredResponse;
  } catch {
    throw new AppError('IDEMPOTENCY_KEY_REUSED');
  }
}

export async function storeIdempotentResponse(scope: Scope, claim: IdempotencyClaim, response: StoredResponse, ttlSeconds: number, box: SecretBox): Promise<void> {
  const sealed = { sealed: box.encrypt(JSON.stringify(response), sealBinding(scope, claim)) };
  await scope.read((tx) =>
    tx.execute(sql`
      with pruned as (
        delete from idempotency_records
        where (tenant_id, principal_id, key) in (
          select tenant_id, principal_id, key from idempotency_records
          where tenant_id = ${scope.actor.tenantId}::uuid and expires_at < now() and not (principal_id = ${claim.principalId}::uuid and key = ${claim.key})
          limit ${PRUNE_PER_STORE}))
      insert into idempotency_records (tenant_id, principal_id, key, request_hash, response, expires_at)
      values (${scope.actor.tenantId}::uuid, ${claim.principalId}::uuid, ${claim.key}, ${claim.requestHash}, ${JSON.stringify(sealed)}::text::jsonb, now() + make_interval(secs => ${ttlSeconds}))
      on conflict (tenant_id, principal_id, key) do update
        set request_hash = excluded.request_hash, response = excluded.response, created_at = now(), expires_at = excluded.expires_at
        where idempotency_records.expires_at <= now()`),
  );
}
