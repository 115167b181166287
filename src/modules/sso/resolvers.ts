import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import type { Context } from '../../graphql/context.js';
import { eq } from 'drizzle-orm';
import { tenants } from '../../db/schema.js';
import * as connections from './connections.js';
import * as domains from './domains.js';
import { oidcConfiguration, oidcRedirectUri } from './oidc-flow.js';
import { samlUrls } from './saml-flow.js';
import { certificateInfo } from './saml-metadata.js';
import { exchangeSsoCode, ssoDepsOf } from './sign-in.js';

const secretDeps = (ctx: Context) => ({ secrets: ctx.app.secrets, policy: ctx.app.integrations.policy });

/** The tenant's slug, read once per operation: every connection listed is of the caller's tenant (RLS). */
const tenantSlugs = new WeakMap<Context, Promise<string>>();
function tenantSlugOf(ctx: Context, tenantId: string): Promise<string> {
  let slug = tenantSlugs.get(ctx);
  if (!slug) {
    slug = ctx.scope!.read((tx) => tx.select({ slug: tenants.slug }).from(tenants).where(eq(tenants.id, tenantId))).then(([t]) => t!.slug);
    tenantSlugs.set(ctx, slug);
  }
  return slug;
}

export const ssoResolvers: Resolvers = {
  Query: {
    ssoConnections: (_, __, ctx) => connections.listSsoConnections(ctx.scope!),
    tenantDomains: (_, __, ctx) => domains.listTenantDomains(ctx.scope!),
  },
  Mutation: {
    createOidcConnection: async (_, { input }, ctx) => connections.createOidcConnection(ctx.scope!, await ctx.actor(), secretDeps(ctx), input),
    createSamlConnection: async (_, { input }, ctx) => connections.createSamlConnection(ctx.scope!, await ctx.actor(), input),
    updateSsoConnection: async (_, { id, input }, ctx) => connections.updateSsoConnection(ctx.scope!, await ctx.actor(), secretDeps(ctx), id, input),
    deleteSsoConnection: async (_, { id }, ctx) => connections.deleteSsoConnection(ctx.scope!, await ctx.actor(), id),
    testSsoConnection: async (_, { id }, ctx) => {
      const conn = await connections.getSsoConnection(ctx.scope!, id);
      if (conn.protocol === 'SAML') return connections.testSamlConnection(conn);
      try {
        const config = await oidcConfiguration(ssoDepsOf(ctx.app), conn);
        return { ok: true, message: null, issuer: config.serverMetadata().issuer };
      } catch (err) {
        return { ok: false, message: (err as Error).message.slice(0, 300), issuer: null };
      }
    },
    exchangeSsoCode: (_, { code }, ctx) => exchangeSsoCode(ssoDepsOf(ctx.app), code, ctx.request),
    addTenantDomain: async (_, { domain }, ctx) => domains.addTenantDomain(ctx.scope!, await ctx.actor(), domain),
    verifyTenantDomain: async (_, { id }, ctx) => domains.verifyTenantDomain(ctx.scope!, await ctx.actor(), id),
    removeTenantDomain: (_, { id }, ctx) => domains.removeTenantDomain(ctx.scope!, id),
    setSsoEnforcement: async (_, { enforced }, ctx) => domains.setSsoEnforcement(ctx.scope!, await ctx.actor(), enforced),
    setSsoBreakGlass: (_, { userId, enabled }, ctx) => domains.setSsoBreakGlass(ctx.scope!, userId, enabled),
  },
  TenantDomain: {
    verified: (d) => d.verifiedAt !== null,
  },
  SsoConnection: {
    issuer: (c) => c.oidcIssuer,
    clientId: (c) => c.oidcClientId,
    scopes: (c) => c.oidcScopes,
    roleMapping: (c) => Object.entries(c.roleMapping).map(([value, role]) => ({ value, role })),
    redirectUri: (c, _, ctx) => (c.protocol === 'SAML' ? samlUrls(ctx.app.config.publicUrl, c).acsUrl : oidcRedirectUri(ctx.app.config.publicUrl)),
    spEntityId: (c, _, ctx) => (c.protocol === 'SAML' ? samlUrls(ctx.app.config.publicUrl, c).entityId : null),
    acsUrl: (c, _, ctx) => (c.protocol === 'SAML' ? samlUrls(ctx.app.config.publicUrl, c).acsUrl : null),
    spMetadataUrl: (c, _, ctx) => (c.protocol === 'SAML' ? samlUrls(ctx.app.config.publicUrl, c).metadataUrl : null),
    idpEntityId: (c) => c.samlIdpEntityId,
    idpSsoUrl: (c) => c.samlIdpSsoUrl,
    idpCertificates: (c) => c.samlIdpCertificates?.map((pem) => certificateInfo(pem)) ?? null,
    allowIdpInitiated: (c) => c.samlAllowIdpInitiated,
    clockSkewSeconds: (c) => c.samlClockSkewSeconds,
    startUrl: async (c, _, ctx) => `${ctx.app.config.publicUrl}/auth/sso/start?tenant=${encodeURIComponent(await tenantSlugOf(ctx, c.tenantId))}&connection=${c.id}`,
  },
};
