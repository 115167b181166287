import { forbidden } from '../errors.js';
import type { TenantRole } from './tokens.js';

/** Roles as data: a higher rank includes every power of the lower ones. */
export const ROLE_RANK: Record<TenantRole, number> = { VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3 };

export const atLeast = (role: TenantRole, min: TenantRole) => ROLE_RANK[role] >= ROLE_RANK[min];

/** The tenant user a service acts for. */
export interface Actor {
  userId: string;
  tenantId: string;
  role: TenantRole;
}

/** ADMINs can't touch OWNERs; nobody may grant a role above their own. */
export function assertCanManage(actor: Actor, target: { role: TenantRole }, newRole?: TenantRole) {
  if (ROLE_RANK[target.role] > ROLE_RANK[actor.role]) throw forbidden(`A ${actor.role} cannot manage a ${target.role}`);
  if (newRole && ROLE_RANK[newRole] > ROLE_RANK[actor.role]) throw forbidden(`A ${actor.role} cannot grant ${newRole}`);
}
