/**
 * The organizations' hot read as a hand-written, prepared statement (see src/db/statements.ts): every
 * organization of a batch of users, by name, for the `User.organizations` DataLoader. RLS keeps it to
 * the transaction's tenant.
 */
import type { OrganizationRow } from '../../db/schema.js';
import { runStatement, toDate } from '../../db/statements.js';
import type { Tx } from '../../db/client.js';

interface OrganizationOfUserRecord {
  user_id: string;
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  scim_external_id: string | null;
  created_at: string;
  updated_at: string;
}

const ORGANIZATIONS_OF_USERS = `select m.user_id, o.tenant_id, o.id, o.name, o.description, o.scim_external_id, o.created_at, o.updated_at
  from organization_memberships m join organizations o on o.tenant_id = m.tenant_id and o.id = m.organization_id
  where m.user_id = any($1::uuid[]) order by o.name`;

/** Each user's organizations, ordered by name, in the order of `userIds`. */
export async function organizationsOfUsers(tx: Tx, userIds: readonly string[]): Promise<OrganizationRow[][]> {
  const byUser = byUserId(await runStatement<OrganizationOfUserRecord>(tx, ORGANIZATIONS_OF_USERS, [userIds]), userIds);
  return userIds.map((id) => byUser.get(id)!);
}

/** Statement texts by the text of the users' statement they wrap. */
const ofSelectedTexts = new Map<string, string>();

/**
 * The organizations of the users a statement selects (its text and parameters, one column `id`),
 * ordered by name: for a page of users whose organizations were asked for, sent with the page's own
 * statement in one round trip instead of after it. Every user the statement selected is in the map
 * (an empty list: none). It runs in a snapshot of its own, so it may select other users than the
 * page did if users changed in between: callers use it for the users the page has that are in it.
 */
export async function organizationsOfSelectedUsers(tx: Tx, users: { text: string; params: unknown[] }): Promise<Map<string, OrganizationRow[]>> {
  let text = ofSelectedTexts.get(users.text);
  if (!text) {
    // The users' ids as one array (an InitPlan), then each one's memberships through the
    // (tenant_id, user_id) index: as cheap as the DataLoader's statement (a join on the subquery itself
    // let the generic plan hash-join all the tenant's memberships, 6× the Postgres time).
    text = `select u.id as user_id, o.tenant_id, o.id, o.name, o.description, o.scim_external_id, o.created_at, o.updated_at
      from unnest(array(${users.text})) u(id)
      left join organization_memberships m on m.user_id = u.id
      left join organizations o on o.tenant_id = m.tenant_id and o.id = m.organization_id
      order by o.name`;
    ofSelectedTexts.set(users.text, text);
  }
  const rows = await runStatement<NullableOrganization<OrganizationOfUserRecord>>(tx, text, users.params);
  return byUserId(rows, rows.map((r) => r.user_id));
}

type NullableOrganization<R> = { user_id: string } & { [K in Exclude<keyof R, 'user_id'>]: R[K] | null };

/** Rows of (user, organization) grouped by user: every one of `userIds` present, organizations in row order. */
function byUserId(rows: NullableOrganization<OrganizationOfUserRecord>[], userIds: readonly string[]): Map<string, OrganizationRow[]> {
  const byUser = new Map<string, OrganizationRow[]>(userIds.map((id) => [id, []]));
  for (const r of rows) {
    if (r.id === null) continue; // a user without organizations (outer join)
    byUser.get(r.user_id)?.push({ tenantId: r.tenant_id!, id: r.id, name: r.name!, description: r.description, scimExternalId: r.scim_external_id, createdAt: toDate(r.created_at!), updatedAt: toDate(r.updated_at!) });
  }
  return byUser;
}
