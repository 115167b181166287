import { AppError, forbidden, unauthenticated } from '../errors.js';
import type { TenantRole } from './tokens.js';

/**
 * Roles as data: the tenant role hierarchy, weakest first. A role holds every power of the roles
 * before it. The permission map (src/graphql/permissions.ts) names a minimum role per field; every
 * role check of the API goes through `roleCheck` below, GraphQL and REST alike.
 */
export const ROLE_HIERARCHY = ['VIEWER', 'MEMBER', 'ADMIN', 'OWNER'] as const satisfies readonly TenantRole[];

export const ROLE_RANK = Object.fromEntries(ROLE_HIERARCHY.map((role, rank) => [role, rank])) as Record<TenantRole, number>;

export const atLeast = (role: TenantRole, min: TenantRole) => ROLE_RANK[role] >= ROLE_RANK[min];

/** The tenant user a service acts for. */
export interface Actor {
  /** The user; for an API key, the key's id (never a user's, so "oneself" checks never match a key). */
  userId: string;
  tenantId: string;
  role: TenantRole;
  /** Set when the caller is an API key (a service account) rather than a person. */
  apiKeyId?: string;
}

/** Who is calling, as the request context resolved it (tenant and user status already checked). */
export type Viewer = { kind: 'anonymous' } | ({ kind: 'user' } & Actor) | { kind: 'platform'; operatorId: string };

/**
 * The one tenant-role check: true, or the error to answer with (UNAUTHENTICATED without a
 * token, FORBIDDEN for the platform operator and for a role below `min`).
 */
export function roleCheck(viewer: Viewer, min: TenantRole): true | AppError {
  if (viewer.kind === 'anonymous') return unauthenticated();
  if (viewer.kind === 'platform') return forbidden('Platform operators have no tenant');
  return atLeast(viewer.role, min) ? true : forbidden(`Requires role ${min} or higher`);
}

/** Acting on oneself needs no role beyond VIEWER; acting on another user needs `min`. */
export function selfOrRoleCheck(viewer: Viewer, targetUserId: unknown, min: TenantRole): true | AppError {
  if (viewer.kind === 'user' && targetUserId === viewer.userId) return true;
  return roleCheck(viewer, min);
}

/** For what only people may do (create API keys, change sign-in settings): FORBIDDEN for an API key. */
export function peopleOnlyCheck(viewer: Viewer): true | AppError {
  if (viewer.kind === 'user' && viewer.apiKeyId) return forbidden('API keys may not do this', { reason: 'API_KEY_NOT_ALLOWED' });
  return true;
}

/** The same as a predicate: does this viewer hold `min` or a stronger role? */
export const hasRole = (viewer: Viewer, min: TenantRole): viewer is { kind: 'user' } & Actor => roleCheck(viewer, min) === true;

/** The platform operator check: true, or UNAUTHENTICATED / FORBIDDEN. */
export function platformOperatorCheck(viewer: Viewer): true | AppError {
  if (viewer.kind === 'platform') return true;
  return viewer.kind === 'anonymous' ? unauthenticated() : forbidden('Platform operators only');
}

/** The operator's id, for resolvers behind a platform-operator rule; throws what the rule answers otherwise. */
export function operatorIdOf(viewer: Viewer): string {
  if (viewer.kind === 'platform') return viewer.operatorId;
  throw platformOperatorCheck(viewer);
}

/**
 * ADMINs can't touch OWNERs; nobody may grant a role above their own. The one check of every path
 * that creates, invites, edits or promotes a user, so its rule for API keys holds on all of them:
 * a key may neither make anyone an OWNER nor manage one (edit, invite again, end sessions...),
 * whatever the key's own role: an OWNER's powers stay with people.
 */
export function assertCanManage(actor: Actor, target: { role: TenantRole }, newRole?: TenantRole) {
  if (actor.apiKeyId && (target.role === 'OWNER' || newRole === 'OWNER')) throw forbidden('API keys may not make anyone an OWNER or manage an OWNER', { reason: 'API_KEY_NOT_ALLOWED' });
  if (ROLE_RANK[target.role] > ROLE_RANK[actor.role]) throw forbidden(`A ${actor.role} cannot manage a ${target.role}`);
  if (newRole && ROLE_RANK[newRole] > ROLE_RANK[actor.role]) throw forbidden(`A ${actor.role} cannot grant ${newRole}`);
}
