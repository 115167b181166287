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
  const rows = await runStatement<OrganizationOfUserRecord>(tx, ORGANIZATIONS_OF_USERS, [userIds]);
  const byUser = new Map<string, OrganizationRow[]>(userIds.map((id) => [id, []]));
  for (const r of rows) {
    byUser.get(r.user_id)?.push({ tenantId: r.tenant_id, id: r.id, name: r.name, description: r.description, scimExternalId: r.scim_external_id, createdAt: toDate(r.created_at), updatedAt: toDate(r.updated_at) });
  }
  return userIds.map((id) => byUser.get(id)!);
}
