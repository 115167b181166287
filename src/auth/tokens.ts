import crypto from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config.js';
import { unauthenticated } from '../errors.js';
import { JWT_ALG, type SigningKeys } from './keys.js';

export type TenantRole = 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER';

/** A verified access token: a tenant user, or the platform operator (a different audience). */
export type AccessClaims =
  | {
      kind: 'user';
      userId: string;
      tenantId: string;
      role: TenantRole;
      jti: string;
      /** The session (refresh-token family) the token was issued for: logout ends it. Absent on tokens made outside a session. */
      sessionId?: string;
      /** Expiry, in seconds since the epoch (an open WebSocket is closed then). */
      exp: number;
      /**
       * Set when the credential is an API key (src/auth/api-keys.ts), not a token: `userId` is then the
       * key's id, nothing is verified yet, and app_begin decides (hash, revocation, expiry, role).
       */
      apiKey?: { id: string; hash: string };
    }
  | { kind: 'platform'; operatorId: string; jti: string };

// RFC 9068 access-token type: refresh tokens are opaque and id tokens carry another typ, so neither passes.
const ACCESS_TYP = 'at+jwt';

/** Verified tokens kept (bounded; the oldest go first). */
const VERIFIED_CACHE_SIZE = 10_000;
const CLOCK_TOLERANCE_S = 5;

export class TokenService {
  private readonly platformAudience: string;
  /**
   * Tokens already verified, by their exact text, until they expire: the same bytes verify the same
   * way until then (signature, issuer, audience, typ and claims are in the bytes; the key does not
   * change in a running process), so only the expiry is re-checked. Verifying an EdDSA signature cost
   * about 7 % of a request's CPU. What may change meanwhile (the user's status and role, the tenant's
   * status) is never taken from the token: it is read from the database in every operation.
   */
  private readonly verified = new Map<string, { claims: AccessClaims; untilMs: number }>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'ACCESS_TOKEN_TTL_SECONDS'>,
  ) {
    this.platformAudience = `${config.JWT_AUDIENCE}:platform`;
  }

  /** `sessionId`: the refresh-token family, as the `sid` claim (OpenID's name for it). */
  async signUserToken(user: { id: string; tenantId: string; role: TenantRole }, sessionId?: string): Promise<{ token: string; expiresAt: Date }> {
    return this.sign({ tid: user.tenantId, role: user.role, ...(sessionId ? { sid: sessionId } : {}) }, user.id, this.config.JWT_AUDIENCE);
  }

  async signPlatformToken(operatorId: string): Promise<{ token: string; expiresAt: Date }> {
    return this.sign({ scope: 'platform' }, operatorId, this.platformAudience);
  }

  /** Verifies with everything pinned: algorithm, issuer, audience, typ, and a required exp. */
  async verify(token: string): Promise<AccessClaims> {
    const hit = this.verified.get(token);
    if (hit) {
      if (Date.now() < hit.untilMs) return hit.claims;
      this.verified.delete(token);
    }
    const { claims, exp } = await this.verifySignature(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { claims, untilMs: (exp + CLOCK_TOLERANCE_S) * 1000 });
    return claims;
  }

  private async verifySignature(token: string): Promise<{ claims: AccessClaims; exp: number }> {
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: [JWT_ALG],
        issuer: this.config.JWT_ISSUER,
        audience: [this.config.JWT_AUDIENCE, this.platformAudience],
        typ: ACCESS_TYP,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const sub = String(payload.sub);
      const jti = String(payload.jti);
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      const exp = Number(payload.exp);
      if (aud.includes(this.platformAudience) && payload.scope === 'platform') return { claims: { kind: 'platform', operatorId: sub, jti }, exp };
      if (aud.includes(this.config.JWT_AUDIENCE) && typeof payload.tid === 'string' && isRole(payload.role)) {
        const sessionId = typeof payload.sid === 'string' ? payload.sid : undefined;
        return { claims: { kind: 'user', userId: sub, tenantId: payload.tid, role: payload.role, jti, exp, ...(sessionId ? { sessionId } : {}) }, exp };
      }
      throw unauthenticated('Malformed access token');
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('Access token expired');
      if (err instanceof joseErrors.JOSEError) throw unauthenticated('Invalid access token');
      throw err;
    }
  }

  private async sign(claims: Record<string, unknown>, subject: string, audience: string) {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.config.ACCESS_TOKEN_TTL_SECONDS;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: JWT_ALG, typ: ACCESS_TYP, kid: this.keys.kid })
      .setSubject(subject)
      .setIssuer(this.config.JWT_ISSUER)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(this.keys.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }
}

const ROLES = new Set(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']);
function isRole(v: unknown): v is TenantRole {
  return typeof v === 'string' && ROLES.has(v);
}
