/**
 * A real OpenID Connect provider (panva's oidc-provider, the certified implementation) for demos and
 * tests, at /oidc on the mock services: discovery, dynamic client registration (/oidc/reg),
 * authorization code + PKCE, signed id_tokens (RS256, a key generated at start).
 *
 * Sign-in: `/oidc/interaction/:uid` shows the accounts to pick from; with `login_hint=<email>` of a
 * known account it signs that account in at once (so `curl -L` and tests can finish a flow without a
 * form). Accounts are kept here (`accounts`), a few demo ones by default.
 *
 * For the attack tests, `tamper` makes the next token response carry a forged id_token (signed with
 * the provider's real key, so only the claims are wrong): another audience, another issuer, another
 * nonce, or the id_token of an earlier sign-in (replay).
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

export interface OidcAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  groups: string[];
}

export type OidcTamper = 'audience' | 'issuer' | 'nonce' | 'replay' | 'expired';

export class MockOidcIdp {
  readonly accounts = new Map<string, OidcAccount>();
  /** The next token response's id_token is forged this way (then reset). */
  tamper: OidcTamper | null = null;
  /** The last id_token issued (for replays). */
  lastIdToken?: string;
  private provider?: Provider;
  private key?: { jwk: JWK; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] };
  issuer = '';

  constructor() {
    for (const a of [
      { email: 'alice@demo.test', name: 'Alice Example', groups: ['engineering'] },
      { email: 'bob@demo.test', name: 'Bob Example', groups: ['tessera-admins'] },
    ]) this.addAccount({ ...a, email_verified: true });
  }

  addAccount(a: Omit<OidcAccount, 'sub'> & { sub?: string }): OidcAccount {
    const account = { ...a, sub: a.sub ?? crypto.randomUUID() };
    this.accounts.set(account.sub, account);
    return account;
  }

  byEmail(email: string): OidcAccount | undefined {
    return [...this.accounts.values()].find((a) => a.email.toLowerCase() === email.toLowerCase());
  }

  /** Built on first use, once the listener's URL (hence the issuer) is known. */
  async get(): Promise<Provider> {
    if (this.provider) return this.provider;
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'mock-oidc-1', use: 'sig', alg: 'RS256' };
    this.key = { jwk, privateKey };
    const config: Configuration = {
      clients: [],
      jwks: { keys: [jwk as never] },
      findAccount: async (_ctx, id) => {
        const a = this.accounts.get(id);
        if (!a) return undefined;
        return { accountId: id, claims: async () => ({ sub: a.sub, email: a.email, email_verified: a.email_verified, name: a.name, groups: a.groups }) };
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      // The scopes' claims go into the id_token itself (a relying party need not call userinfo).
      conformIdTokenClaims: false,
      features: { registration: { enabled: true }, devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/oidc/interaction/${interaction.uid}` },
      pkce: { required: () => true },
      cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
      ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
      clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'RS256' },
    };
    const provider = new Provider(this.issuer, config);
    provider.proxy = true;
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
      const issued = body.id_token;
      if (this.tamper) body.id_token = await this.forge(issued, this.tamper);
      this.tamper = null;
      this.lastIdToken = issued;
    });
    this.provider = provider;
    return provider;
  }

  private async forge(idToken: string, how: OidcTamper): Promise<string> {
    if (how === 'replay') return this.lastIdToken ?? idToken;
    const claims = decodeJwt(idToken);
    const now = Math.floor(Date.now() / 1000);
    if (how === 'audience') claims.aud = 'another-client';
    if (how === 'issuer') claims.iss = 'http://evil.example/oidc';
    if (how === 'nonce') claims.nonce = crypto.randomBytes(16).toString('base64url');
    if (how === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: this.key!.jwk.kid! }).sign(this.key!.privateKey);
  }
}

/**
 * Mounts the provider at /oidc. Its routes read the raw request body themselves, so no body parser
 * runs here; the interaction routes (our sign-in page) take a form post.
 */
export function oidcIdpRoutes(idp: MockOidcIdp) {
  return async (app: FastifyInstance) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null)); // leave the stream to oidc-provider
    app.addContentTypeParser('application/x-www-form-urlencoded', (req, payload, done) => {
      // Only our own login form is read here; every other body is oidc-provider's to read from the stream.
      if (!req.url.includes('/interaction/')) return done(null);
      let text = '';
      payload.setEncoding('utf8');
      payload.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > 10_000) payload.destroy(new Error('form too large'));
      });
      payload.on('end', () => done(null, Object.fromEntries(new URLSearchParams(text))));
      payload.on('error', (err) => done(err));
    });

    const finish = async (req: FastifyRequest, reply: FastifyReply, account: OidcAccount) => {
      const provider = await idp.get();
      const details = await provider.interactionDetails(req.raw, reply.raw);
      const grant = new provider.Grant({ accountId: account.sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope ?? 'openid'));
      const grantId = await grant.save();
      reply.hijack();
      await provider.interactionFinished(req.raw, reply.raw, { login: { accountId: account.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
    };

    app.get<{ Params: { uid: string } }>('/oidc/interaction/:uid', async (req, reply) => {
      const provider = await idp.get();
      const details = await provider.interactionDetails(req.raw, reply.raw);
      const hinted = typeof details.params.login_hint === 'string' ? idp.byEmail(details.params.login_hint) : undefined;
      if (hinted) return finish(req, reply, hinted);
      const options = [...idp.accounts.values()].map((a) => `<option value="${escapeHtml(a.email)}">${escapeHtml(a.name)} &lt;${escapeHtml(a.email)}&gt;</option>`).join('');
      return reply
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><title>Mock identity provider</title><h1>Sign in to the mock identity provider</h1>` +
            `<form method="post" action="/oidc/interaction/${encodeURIComponent(req.params.uid)}/login"><select name="email">${options}</select> <button>Sign in</button></form>`,
        );
    });

    app.post<{ Params: { uid: string }; Body: { email?: string } }>('/oidc/interaction/:uid/login', async (req, reply) => {
      const account = typeof req.body?.email === 'string' ? idp.byEmail(req.body.email) : undefined;
      if (!account) return reply.code(400).type('text/plain').send('unknown account');
      return finish(req, reply, account);
    });

    // Everything else is oidc-provider's (discovery, /auth, /token, /jwks, /reg, /me, …), mounted at /oidc.
    app.all('/oidc/*', async (req, reply) => {
      const provider = await idp.get();
      reply.hijack();
      const raw = req.raw as typeof req.raw & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = raw.url!.slice('/oidc'.length) || '/';
      provider.callback()(raw, reply.raw);
    });
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
