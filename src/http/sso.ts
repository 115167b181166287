import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { App } from '../app.js';
import { finishOidcSignIn, SsoRefusal, ssoDepsOf, startOidcSignIn } from '../modules/sso/oidc-flow.js';

const STATE_COOKIE = 'tessera_sso_state';

/**
 * The browser's side of single sign-on (README "Single sign-on"): redirects, never JSON.
 *  - GET /auth/sso/start?tenant=<slug>[&connection=<id>][&login_hint=<email>], or ?email=<work email>
 *    (the tenant that verified its domain) → 302 to the identity
 *    provider, with the sign-in's state in an HttpOnly cookie (path /auth/sso, 10 minutes);
 *  - GET /auth/sso/oidc/callback → 302 to `${APP_URL}/sso/callback?code=…` (exchangeSsoCode turns
 *    it into a session), or `?error=<SSO_… code>` — never a stack trace, never a JSON error page.
 */
export function ssoRoutes(app: App): FastifyPluginAsync {
  const deps = ssoDepsOf(app);
  const secure = app.config.publicUrl.startsWith('https:');
  const toApp = (reply: FastifyReply, params: Record<string, string>) =>
    reply.code(302).header('cache-control', 'no-store').redirect(`${app.config.appUrl}/sso/callback?${new URLSearchParams(params)}`, 302);
  const refused = (reply: FastifyReply, err: unknown) => {
    if (err instanceof SsoRefusal) return toApp(reply, { error: err.code });
    app.log.error({ err }, 'SSO sign-in failed');
    return toApp(reply, { error: 'SSO_FAILED' });
  };

  return async (instance: FastifyInstance) => {
    await instance.register(cookie);

    instance.get<{ Querystring: Record<string, unknown> }>('/auth/sso/start', async (req, reply) => {
      const request = { requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'] };
      try {
        // Each start writes a sign-in attempt for an anonymous caller: bounded per client IP.
        if ((await app.rateLimits.checkIp('sso-start', req.ip)) !== true) return toApp(reply, { error: 'SSO_RATE_LIMITED' });
        const { redirectTo, state } = await startOidcSignIn(deps, { tenantSlug: req.query.tenant, connectionId: req.query.connection, loginHint: req.query.login_hint, email: req.query.email }, request);
        reply.setCookie(STATE_COOKIE, state, { path: '/auth/sso', httpOnly: true, sameSite: 'lax', secure, maxAge: 600 });
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
  };
}
