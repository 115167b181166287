import { eq, sql } from 'drizzle-orm';
import type { App } from './app.js';
import { devSecret } from './bootstrap.js';
import { actors, inTenant, ShortTransactionScope } from './db/tenant-transaction.js';
import { createTenant } from './modules/tenants/service.js';
import { createUser } from './modules/users/service.js';
import { addMember, createOrganization } from './modules/organizations/service.js';
import { integrations, ssoConnections, users } from './db/schema.js';
import { createOidcConnection, createSamlConnection, updateSsoConnection } from './modules/sso/connections.js';
import { oidcRedirectUri } from './modules/sso/oidc-flow.js';
import { PROVIDER_SLUG, type Provider } from './db/providers.js';
import { createIntegration } from './modules/integrations/service.js';
import { secretBinding } from './integrations/secrets.js';

export interface DemoCredentials {
  tenantSlug: string;
  email: string;
  password: string;
}

/**
 * The development demo: tenant "demo" with an OWNER whose password is generated once and kept in
 * the data folder, a few users and two organizations. Runs once; later starts find it and skip.
 */
export async function seedDemo(app: App): Promise<DemoCredentials> {
  const creds = { tenantSlug: 'demo', email: 'owner@demo.test', password: devSecret(app.config.DATA_DIR, 'demo-owner-password') };
  const [existing] = await app.db.execute(sql`select id from platform.tenant_by_slug(${creds.tenantSlug})`);
  if (existing) return creds;
  const tenant = await createTenant(app.platformDb, 'system:seed', {
    slug: creds.tenantSlug,
    name: 'Demo Company',
    plan: 'PRO',
    ownerEmail: creds.email,
    ownerName: 'Olivia Owner',
    ownerPassword: creds.password,
  });
  const seeder = actors.system('seed', tenant.id);
  const [owner] = await inTenant(app.db, seeder, (tx) => tx.select({ id: users.id }).from(users).where(eq(users.role, 'OWNER')).limit(1));
  const actor = { userId: owner!.id, tenantId: tenant.id, role: 'OWNER' as const };
  const scope = new ShortTransactionScope(app.db, seeder);
  const people = [
    { email: 'ada@demo.test', name: 'Ada Admin', role: 'ADMIN' as const },
    { email: 'mo@demo.test', name: 'Mo Member', role: 'MEMBER' as const },
    { email: 'vic@demo.test', name: 'Vic Viewer', role: 'VIEWER' as const },
  ];
  const created = [];
  for (const p of people) created.push(await createUser(scope, actor, { ...p, password: creds.password }));
  const engineering = await createOrganization(scope, actor, { name: 'Engineering', description: 'Builds the product' });
  const sales = await createOrganization(scope, actor, { name: 'Sales' });
  await addMember(scope, actor, engineering.id, created[0]!.id, 'ADMIN');
  await addMember(scope, actor, engineering.id, created[1]!.id, 'MEMBER');
  await addMember(scope, actor, sales.id, created[2]!.id, 'MEMBER');
  return creds;
}

export interface DemoIntegration {
  id: string;
  provider: Provider;
  name: string;
  /** Only when the integration was created by this call: a secret is shown once, never read back. */
  webhookSecret?: string;
}

const DEMO_INTEGRATIONS: { provider: Provider; name: string }[] = [
  { provider: 'USER_SERVICE', name: 'Demo user service' },
  { provider: 'PAYMENT_SERVICE', name: 'Demo payment service' },
  { provider: 'COMMUNICATION_SERVICE', name: 'Demo communication service' },
];

/**
 * Development only: the demo tenant gets one integration per provider, pointing at the mock
 * services, created once. The webhook secrets come back only from the call that created them (the
 * first start prints them once, like the API's createIntegration); later starts list the
 * integrations without secrets, so a secret rotated through the API is never printed.
 */
export async function seedDemoIntegrations(app: App, tenantSlug: string, mockUrl: string): Promise<DemoIntegration[]> {
  const [tenant] = (await app.db.execute(sql`select id from platform.tenant_by_slug(${tenantSlug})`)) as unknown as { id: string }[];
  if (!tenant) return [];
  const scope = new ShortTransactionScope(app.db, actors.system('seed', tenant.id));
  const rows = await scope.read((tx) => tx.select().from(integrations));
  if (rows.length > 0) {
    await connectDemoCommunication(app, mockUrl, rows);
    return rows.map((r) => ({ id: r.id, provider: r.provider, name: r.name }));
  }
  const created: DemoIntegration[] = [];
  for (const d of DEMO_INTEGRATIONS) {
    const { integration, webhookSecret } = await createIntegration(scope, app, { provider: d.provider, name: d.name, baseUrl: `${mockUrl}/${PROVIDER_SLUG[d.provider]}`, apiKey: 'demo-api-key' });
    created.push({ id: integration.id, provider: integration.provider, name: integration.name, webhookSecret });
  }
  await connectDemoCommunication(app, mockUrl, await scope.read((tx) => tx.select().from(integrations)));
  return created;
}

/**
 * Development only: tells the mock communication service (which keeps nothing across restarts)
 * where the demo's delivery-status webhooks go and the secret to sign them with, as an ADMIN would
 * in a real provider's dashboard. Done on every start, with the integration's current secret.
 */
async function connectDemoCommunication(app: App, mockUrl: string, rows: (typeof integrations.$inferSelect)[]): Promise<void> {
  const row = rows.find((r) => r.provider === 'COMMUNICATION_SERVICE' && r.baseUrl.startsWith(mockUrl));
  if (!row) return;
  const secret = app.secrets.decrypt(row.webhookSecretEncrypted, secretBinding(row.tenantId, row.id, 'webhook-secret'));
  const res = await fetch(`${row.baseUrl}/webhook-endpoint`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: 'Bearer demo-api-key' },
    body: JSON.stringify({ url: `${app.config.publicUrl}/webhooks/${row.id}`, secret }),
  }).catch((err: unknown) => app.log.warn({ err }, 'could not register the demo webhook endpoint at the mock communication service'));
  if (res && !res.ok) app.log.warn({ status: res.status }, 'the mock communication service refused the demo webhook endpoint');
}

/**
 * The demo's single sign-on: a connection "Mock IdP" to the OpenID provider of the mock services
 * and one "Mock SAML IdP" to their SAML identity provider (groups `tessera-admins` → ADMIN in both).
 * The mock providers forget their clients and keys when they stop, so every start registers Tessera
 * again (dynamic registration) and reads the SAML IdP's metadata (a new signing certificate) anew.
 * Returns the start URL (the tenant has one connection of each protocol: `protocol` picks one).
 */
export async function seedDemoSso(app: App, tenantSlug: string, mockUrl: string): Promise<string | undefined> {
  const [tenant] = (await app.db.execute(sql`select id from platform.tenant_by_slug(${tenantSlug})`)) as unknown as { id: string }[];
  if (!tenant) return undefined;
  const reg = await fetch(`${mockUrl}/oidc/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Tessera (demo)', redirect_uris: [oidcRedirectUri(app.config.publicUrl)] }),
  });
  if (!reg.ok) throw new Error(`the mock OpenID provider refused the registration (${reg.status})`);
  const client = (await reg.json()) as { client_id: string; client_secret: string };
  const scope = new ShortTransactionScope(app.db, actors.system('seed', tenant.id));
  const [owner] = await scope.read((tx) => tx.select().from(users).where(eq(users.role, 'OWNER')).limit(1));
  const actor = { userId: owner!.id, tenantId: tenant.id, role: 'OWNER' as const };
  const deps = { secrets: app.secrets, policy: app.integrations.policy };
  const settings = { issuer: `${mockUrl}/oidc`, clientId: client.client_id, clientSecret: client.client_secret };
  const [existing] = await scope.read((tx) => tx.select().from(ssoConnections).where(eq(ssoConnections.name, 'Mock IdP')));
  if (existing) await updateSsoConnection(scope, actor, deps, existing.id, settings);
  else await createOidcConnection(scope, actor, deps, { name: 'Mock IdP', ...settings, scopes: 'openid email profile groups', roleClaim: 'groups', roleMapping: [{ value: 'tessera-admins', role: 'ADMIN' }] });
  const metadata = await fetch(`${mockUrl}/saml/metadata`);
  if (!metadata.ok) throw new Error(`the mock SAML identity provider's metadata answered ${metadata.status}`);
  const saml = { idpMetadataXml: await metadata.text() };
  const [existingSaml] = await scope.read((tx) => tx.select().from(ssoConnections).where(eq(ssoConnections.name, 'Mock SAML IdP')));
  if (existingSaml) await updateSsoConnection(scope, actor, deps, existingSaml.id, saml);
  else await createSamlConnection(scope, actor, { name: 'Mock SAML IdP', ...saml, roleClaim: 'groups', roleMapping: [{ value: 'tessera-admins', role: 'ADMIN' }] });
  return `${app.config.publicUrl}/auth/sso/start?tenant=${tenantSlug}&protocol=oidc`;
}
