import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { App } from '../app.js';
import { eq } from 'drizzle-orm';
import { ssoConnections } from '../db/schema.js';
import { ErrorCode, toAppError } from '../errors.js';
import { actors, inTenant } from '../db/tenant-transaction.js';
import { finishOidcSignIn } from '../modules/sso/oidc-flow.js';
import { finishSamlSignIn, samlServiceProviderMetadata } from '../modules/sso/saml-flow.js';
import { SsoRefusal, ssoDepsOf, UUID } from '../modules/sso/sign-in.js';
import { startSignIn } from '../modules/sso/start.js';

const STATE_COOKIE = 'tessera_sso_state';

/**
 * The browser's side of single sign-on (README "Single sign-on"): redirects, never JSON.
 *  - GET /auth/sso/start?tenant=<slug>[&connection=<id>|&protocol=oidc|saml][&login_hint=<email>],
 *    or ?email=<work email> (the tenant that verified its domain) → 302 to the identity provider
 *    (OIDC: with the sign-in's state in an HttpOnly cookie, path /auth/sso, 10 minutes; SAML: an
 *    AuthnRequest in the HTTP-Redirect binding);
 *  - GET /auth/sso/oidc/callback and POST /auth/sso/saml/:tenantId/:connectionId/acs (HTTP-POST
 *    binding) → 302 to `${APP_URL}/sso/callback?code=…` (exchangeSsoCode turns it into a session),
 *    or `?error=<SSO_… code>` — never a stack trace, never a JSON error page;
 *  - GET /auth/sso/saml/:tenantId/:connectionId/metadata → our SP metadata for that connection.
 */
export function ssoRoutes(app: App): FastifyPluginAsync {
  const deps = ssoDepsOf(app);
  const secure = app.config.publicUrl.startsWith('https:');
  const toApp = (reply: FastifyReply, params: Record<string, string>) =>
    reply.code(302).header('cache-control', 'no-store').redirect(`${app.config.appUrl}/sso/callback?${new URLSearchParams(params)}`, 302);
  const refused = (reply: FastifyReply, err: unknown) => {
    if (err instanceof SsoRefusal) return toApp(reply, { error: err.code });
    // Anything else through the one error table (it logs bugs): the client's fault (a value Postgres
    // refuses, such as a NUL in the tenant) is SSO_BAD_REQUEST; only a real failure is SSO_FAILED.
    const e = toAppError(err, app.log);
    return toApp(reply, { error: ErrorCode[e.code].http < 500 ? 'SSO_BAD_REQUEST' : 'SSO_FAILED' });
  };

  return async (instance: FastifyInstance) => {
    await instance.register(cookie);
    // The SAML ACS receives a form (HTTP-POST binding); a body that can't be read is refused like any other failure.
    instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
    instance.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      if (err.statusCode && err.statusCode < 500) return toApp(reply, { error: 'SSO_BAD_REQUEST' }); // unreadable or oversized body
      return refused(reply, err);
    });

    instance.get<{ Querystring: Record<string, unknown> }>('/auth/sso/start', async (req, reply) => {
      const request = { requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'] };
      try {
        // Each start writes a sign-in attempt for an anonymous caller: bounded per client IP.
        if ((await app.rateLimits.checkIp('sso-start', req.ip)) !== true) return toApp(reply, { error: 'SSO_RATE_LIMITED' });
        const { redirectTo, state } = await startSignIn(deps, { tenantSlug: req.query.tenant, connectionId: req.query.connection, loginHint: req.query.login_hint, email: req.query.email, protocol: req.query.protocol }, request);
        if (state) reply.setCookie(STATE_COOKIE, state, { path: '/auth/sso', httpOnly: true, sameSite: 'lax', secure, maxAge: 600 });
        return reply.header('cache-control', 'no-store').redirect(redirectTo, 302);
      } catch (err) {
        return refused(reply, err);
      }
    });

    instance.get('/auth/sso/oidc/callback', async (req, reply) => {
      const request = { requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'] };
      reply.clearCookie(STATE_COOKIE, { path: '/auth/sso' });
      try {
        if ((await app.rateLimits.checkIp('sso-callback', req.ip)) !== true) return toApp(reply, { error: 'SSO_RATE_LIMITED' });
        const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
        const { code } = await finishOidcSignIn(deps, query, req.cookies[STATE_COOKIE], request);
        return toApp(reply, { code });
      } catch (err) {
        return refused(reply, err);
      }
    });

    instance.post<{ Params: { tenantId: string; connectionId: string } }>('/auth/sso/saml/:tenantId/:connectionId/acs', async (req, reply) => {
      const request = { requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'] };
      try {
        if ((await app.rateLimits.checkIp('sso-callback', req.ip)) !== true) return toApp(reply, { error: 'SSO_RATE_LIMITED' });
        const { code } = await finishSamlSignIn(deps, req.params, req.body, request);
        return toApp(reply, { code });
      } catch (err) {
        return refused(reply, err);
      }
    });

    // What the tenant gives its identity provider (entity id, ACS URL, signing wanted); public, as IdPs fetch it.
    instance.get<{ Params: { tenantId: string; connectionId: string } }>('/auth/sso/saml/:tenantId/:connectionId/metadata', async (req, reply) => {
      const { tenantId, connectionId } = req.params;
      const notFound = () => reply.code(404).type('text/plain; charset=utf-8').send('Unknown SAML connection');
      if (!UUID.test(tenantId) || !UUID.test(connectionId)) return notFound();
      const request = { requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'] };
      const [conn] = await inTenant(app.db, actors.system('sso', tenantId, request), (tx) => tx.select().from(ssoConnections).where(eq(ssoConnections.id, connectionId)));
      if (!conn || conn.protocol !== 'SAML') return notFound();
      return reply.header('cache-control', 'public, max-age=300').type('application/samlmetadata+xml; charset=utf-8').send(await samlServiceProviderMetadata(deps, conn));
    });
  };
}
