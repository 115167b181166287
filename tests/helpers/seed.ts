import crypto from 'node:crypto';
import type { App } from '../../src/app.js';
import type { TenantRole } from '../../src/auth/tokens.js';
import { users, type OrganizationRow, type TenantRow, type UserRow } from '../../src/db/schema.js';
import { eq } from 'drizzle-orm';
import { actors, inTenant, ShortTransactionScope } from '../../src/db/tenant-transaction.js';
import { addMember, createOrganization } from '../../src/modules/organizations/service.js';
import { createTenant } from '../../src/modules/tenants/service.js';
import { createUser } from '../../src/modules/users/service.js';

export const PASSWORD = 'correct-horse-battery';

export interface SeededUser {
  user: UserRow;
  /** A valid access token for this user. */
  token: string;
}

export interface SeededTenant {
  tenant: TenantRow;
  owner: SeededUser;
  /** Creates a user with the role (ACTIVE, password PASSWORD) and returns it with a token. */
  user(role?: TenantRole, name?: string): Promise<SeededUser>;
  organization(name?: string, members?: { user: UserRow; role?: 'ADMIN' | 'MEMBER' }[]): Promise<OrganizationRow>;
}

export interface Seed {
  /** A fresh tenant (random slug unless given) with an OWNER. */
  tenant(slug?: string): Promise<SeededTenant>;
}

/** Fluent test data through the same services the API uses (so RLS and rules apply). */
export function createSeed(app: App): Seed {
  return {
    async tenant(slug = `t-${crypto.randomBytes(4).toString('hex')}`) {
      const tenant = await createTenant(app.platformDb, 'test', {
        slug,
        name: `Tenant ${slug}`,
        ownerEmail: `owner@${slug}.test`,
        ownerName: 'Owner',
        ownerPassword: PASSWORD,
      });
      const seeder = actors.system('test-seed', tenant.id);
      const [ownerRow] = await inTenant(app.db, seeder, (tx) => tx.select().from(users).where(eq(users.role, 'OWNER')));
      const owner = { user: ownerRow!, token: (await app.tokens.signUserToken(ownerRow!)).token };
      const actor = { userId: owner.user.id, tenantId: tenant.id, role: 'OWNER' as const };
      const scope = new ShortTransactionScope(app.db, seeder);
      let n = 0;
      return {
        tenant,
        owner,
        async user(role = 'MEMBER', name) {
          n += 1;
          const user = await createUser(scope, actor, { email: `${role.toLowerCase()}${n}-${crypto.randomBytes(3).toString('hex')}@${slug}.test`, name: name ?? `${role} ${n}`, role, password: PASSWORD });
          return { user, token: (await app.tokens.signUserToken(user)).token };
        },
        async organization(name = `Org ${crypto.randomBytes(3).toString('hex')}`, members = []) {
          const org = await createOrganization(scope, actor, { name });
          for (const m of members) await addMember(scope, actor, org.id, m.user.id, m.role ?? 'MEMBER');
          return org;
        },
      };
    },
  };
}
