/**
 * The benchmark's data: each tenant through the service (platform.create_tenant), its users and
 * organizations with batched SQL as the owner inside a transaction with app.tenant_id set.
 * Deterministic (the mock providers' seeded PRNG). And the RLS switch the comparison needs.
 */
import type postgres from 'postgres';
import type { createApp } from '../../src/bootstrap.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { createRng } from '../../src/mock-services/data.js';
import { createTenant } from '../../src/modules/tenants/service.js';
import { log, ORGS_PER_TENANT, RLS_TABLES, USERS_PER_TENANT } from './common.js';

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Edsger', 'Frances', 'Donald', 'Radia', 'John', 'Hedy', 'Tim', 'Katherine', 'Dennis', 'Sophie', 'Niklaus', 'Anita', 'Bjarne'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Dijkstra', 'Allen', 'Knuth', 'Perlman', 'McCarthy', 'Lamarr', 'Berners-Lee', 'Johnson', 'Ritchie', 'Wilson', 'Wirth', 'Borg', 'Stroustrup'];
const TEAMS = ['Engineering', 'Sales', 'Marketing', 'Finance', 'Support', 'Legal', 'Design', 'Operations', 'Research', 'People'];
const REGIONS = ['EMEA', 'Americas', 'APAC', 'Nordics', 'DACH'];

export interface SeededTenant {
  id: string;
  slug: string;
  member: { id: string; tenantId: string; role: 'MEMBER' };
  stats: { users: number; orgs: number; memberships: number };
}

export async function seedTenant(app: Awaited<ReturnType<typeof createApp>>, owner: postgres.Sql, slug: string, name: string): Promise<SeededTenant> {
  const tenant = await createTenant(app.platformDb, 'bench:seed', { slug, name, plan: 'PRO', ownerEmail: `owner@${slug}.test`, ownerName: 'Olivia Owner', ownerPassword: 'bench-owner-password' });
  const rand = createRng(slug.length * 7919 + slug.charCodeAt(0));
  const passwordHash = await hashPassword('bench-user-password'); // one hash, shared: scrypt × 1000 would dominate seeding
  const now = Date.now();
  const year = 365 * 24 * 3600 * 1000;
  return owner.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenant.id}, true)`;
    const users = Array.from({ length: USERS_PER_TENANT - 1 }, (_, i) => {
      const first = FIRST[i % FIRST.length]!;
      const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
      const r = rand();
      const role = r < 0.05 ? 'ADMIN' : r < 0.15 ? 'VIEWER' : 'MEMBER';
      const invited = rand() < 0.03;
      const createdAt = new Date(now - year + Math.floor((i / USERS_PER_TENANT) * year) + Math.floor(rand() * 60_000));
      return {
        tenant_id: tenant.id,
        email: `${first}.${last}.${i}@${slug}.test`.toLowerCase(),
        name: `${first} ${last}`,
        role,
        status: invited ? 'INVITED' : 'ACTIVE',
        password_hash: invited ? null : passwordHash,
        created_at: createdAt,
        updated_at: createdAt,
      };
    });
    await tx`insert into users ${tx(users, 'tenant_id', 'email', 'name', 'role', 'status', 'password_hash', 'created_at', 'updated_at')}`;
    const orgs = Array.from({ length: ORGS_PER_TENANT }, (_, i) => {
      const createdAt = new Date(now - year + i * 3600_000);
      return {
        tenant_id: tenant.id,
        name: `${TEAMS[i % TEAMS.length]} ${REGIONS[Math.floor(i / TEAMS.length) % REGIONS.length]}`,
        description: rand() < 0.5 ? `The ${TEAMS[i % TEAMS.length]!.toLowerCase()} team` : null,
        created_at: createdAt,
        updated_at: createdAt,
      };
    });
    const orgIds = (await tx`insert into organizations ${tx(orgs, 'tenant_id', 'name', 'description', 'created_at', 'updated_at')} returning id`).map((r) => r.id as string);
    const allUsers = await tx<{ id: string; role: string; status: string; created_at: Date }[]>`select id, role, status, created_at from users where tenant_id = ${tenant.id} order by created_at, id`;
    const memberships: { tenant_id: string; organization_id: string; user_id: string; role: string; created_at: Date }[] = [];
    for (const u of allUsers) {
      const k = 1 + Math.floor(rand() * 3);
      const picked = new Set<string>();
      while (picked.size < k) picked.add(orgIds[Math.floor(rand() * orgIds.length)]!);
      for (const orgId of picked) memberships.push({ tenant_id: tenant.id, organization_id: orgId, user_id: u.id, role: rand() < 0.1 ? 'ADMIN' : 'MEMBER', created_at: u.created_at });
    }
    for (let i = 0; i < memberships.length; i += 5000) {
      await tx`insert into organization_memberships ${tx(memberships.slice(i, i + 5000), 'tenant_id', 'organization_id', 'user_id', 'role', 'created_at')}`;
    }
    const m = allUsers.find((u) => u.role === 'MEMBER' && u.status === 'ACTIVE')!;
    return {
      id: tenant.id,
      slug,
      member: { id: m.id, tenantId: tenant.id, role: 'MEMBER' as const },
      stats: { users: allUsers.length, orgs: orgIds.length, memberships: memberships.length },
    };
  });
}


/** Off: NO FORCE + DISABLE on the four tables, so the app role sees every tenant's rows. On: as migrated. */
export async function setRls(owner: postgres.Sql, on: boolean) {
  await owner.begin(async (tx) => {
    for (const table of RLS_TABLES) {
      await tx.unsafe(on ? `alter table "${table}" enable row level security, force row level security` : `alter table "${table}" no force row level security, disable row level security`);
    }
  });
  log(`RLS ${on ? 'ENABLED + FORCED' : 'DISABLED'} on ${RLS_TABLES.join(', ')}`);
}
