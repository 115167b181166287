/**
 * Users mirrored from a user-service integration, linked by (external_source = integration id,
 * external_id = provider user id). A provider deletion deactivates (tombstones) the user and ends
 * their sessions; it never deletes the row.
 */
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { conflict } from '../../errors.js';
import { refreshTokens, users, type UserRow } from '../../db/schema.js';
import { isNewer, versionOf, type ApplyOutcome, type ApplyTarget } from './conflict.js';
import type { ProviderUser } from './records.js';

/**
 * Applies one provider user:
 *  1. finds our row by external link, else an unlinked user with the same email (which gets linked);
 *  2. nothing found: inserts (ON CONFLICT DO NOTHING; losing an insert race goes back to step 1);
 *  3. found: writes only if the record is newer (conflict.ts), under the row lock taken in step 1.
 */
export async function applyUser(tx: Tx, integration: ApplyTarget, record: ProviderUser): Promise<ApplyOutcome> {
  const incoming = versionOf(record);
  const source = integration.id;
  for (let attempt = 0; attempt < 2; attempt++) {
    const found = await tx
      .select()
      .from(users)
      .where(
        or(
          and(eq(users.externalSource, source), eq(users.externalId, record.id)),
          and(sql`lower(${users.email}) = ${record.email}`, isNull(users.externalId)),
        ),
      )
      .for('update');
    const current = found.find((u) => u.externalSource === source && u.externalId === record.id) ?? found[0];
    if (!current) {
      const [inserted] = await tx
        .insert(users)
        .values({
          tenantId: integration.tenantId,
          email: record.email,
          name: record.name,
          role: 'MEMBER',
          // Mirrored users have no password here: INVITED until they set one.
          status: record.status === 'deleted' ? 'DEACTIVATED' : 'INVITED',
          externalSource: source,
          externalId: record.id,
          externalVersion: incoming.version,
          externalUpdatedAt: incoming.updatedAt,
        })
        .onConflictDoNothing()
        .returning({ id: users.id });
      if (inserted) return record.status === 'deleted' ? 'deleted' : 'created';
      continue; // a concurrent apply created it (or holds the email): look again
    }
    const linked = current.externalId === record.id && current.externalSource === source;
    if (linked && !isNewer(incoming, { version: current.externalVersion, updatedAt: current.externalUpdatedAt })) return 'unchanged';
    return updateUser(tx, current, source, record);
  }
  throw conflict(`User ${record.id}: the email ${record.email} belongs to another user of this tenant`);
}

async function updateUser(tx: Tx, current: UserRow, source: string, record: ProviderUser): Promise<ApplyOutcome> {
  const deleting = record.status === 'deleted' && current.status !== 'DEACTIVATED';
  // An OWNER is never deactivated from outside: the tenant must keep someone who can administer it.
  const status =
    record.status === 'deleted'
      ? current.role === 'OWNER'
        ? current.status
        : 'DEACTIVATED'
      : current.status === 'DEACTIVATED'
        ? current.passwordHash
          ? 'ACTIVE'
          : 'INVITED'
        : current.status;
  await tx
    .update(users)
    .set({
      email: record.email,
      name: record.name,
      status,
      externalSource: source,
      externalId: record.id,
      externalVersion: record.version,
      externalUpdatedAt: record.updated_at,
      updatedAt: new Date(),
    })
    .where(eq(users.id, current.id));
  if (deleting && status === 'DEACTIVATED') {
    await tx.update(refreshTokens).set({ revokedAt: new Date() }).where(and(eq(refreshTokens.userId, current.id), isNull(refreshTokens.revokedAt)));
    return 'deleted';
  }
  return 'updated';
}

/**
 * applyUser for a page of records (sync), with the same rule and fewer statements: one locking read
 * of every candidate row, one multi-row insert of the users we don't have, and applyUser itself for
 * the rest (updates, links by email, lost insert races). Outcomes are in input order. Added for
 * sync by issue #5.
 */
export async function applyUsers(tx: Tx, integration: ApplyTarget, records: ProviderUser[]): Promise<ApplyOutcome[]> {
  if (records.length === 0) return [];
  const source = integration.id;
  const found = await tx
    .select()
    .from(users)
    .where(
      or(
        and(eq(users.externalSource, source), inArray(users.externalId, records.map((r) => r.id))),
        and(isNull(users.externalId), inArray(sql`lower(${users.email})`, records.map((r) => r.email))),
      ),
    )
    .for('update');
  const linked = new Map(found.filter((u) => u.externalSource === source && u.externalId).map((u) => [u.externalId!, u]));
  const unlinked = new Set(found.filter((u) => !u.externalId).map((u) => u.email.toLowerCase()));
  const outcomes: (ApplyOutcome | undefined)[] = new Array(records.length);
  const fresh: number[] = [];
  const slow: number[] = [];
  records.forEach((r, i) => {
    const current = linked.get(r.id);
    if (current) {
      if (!isNewer(versionOf(r), { version: current.externalVersion, updatedAt: current.externalUpdatedAt })) outcomes[i] = 'unchanged';
      else slow.push(i);
    } else if (unlinked.has(r.email)) slow.push(i);
    else fresh.push(i);
  });
  if (fresh.length) {
    const inserted = await tx
      .insert(users)
      .values(
        fresh.map((i) => {
          const r = records[i]!;
          return {
            tenantId: integration.tenantId,
            email: r.email,
            name: r.name,
            role: 'MEMBER' as const,
            status: r.status === 'deleted' ? ('DEACTIVATED' as const) : ('INVITED' as const),
            externalSource: source,
            externalId: r.id,
            externalVersion: r.version,
            externalUpdatedAt: r.updated_at,
          };
        }),
      )
      .onConflictDoNothing()
      .returning({ externalId: users.externalId });
    const created = new Set(inserted.map((u) => u.externalId));
    for (const i of fresh) {
      const r = records[i]!;
      if (created.has(r.id)) outcomes[i] = r.status === 'deleted' ? 'deleted' : 'created';
      else slow.push(i); // an email or id taken meanwhile: the single-record path decides
    }
  }
  for (const i of slow.sort((x, y) => x - y)) outcomes[i] = await applyUser(tx, integration, records[i]!);
  return outcomes as ApplyOutcome[];
}
