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

export class TokenService {
  private readonly platformAudience: string;

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
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: [JWT_ALG],
        issuer: this.config.JWT_ISSUER,
        audience: [this.config.JWT_AUDIENCE, this.platformAudience],
        typ: ACCESS_TYP,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        clockTolerance: 5,
      });
      const sub = String(payload.sub);
      const jti = String(payload.jti);
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (aud.includes(this.platformAudience) && payload.scope === 'platform') return { kind: 'platform', operatorId: sub, jti };
      if (aud.includes(this.config.JWT_AUDIENCE) && typeof payload.tid === 'string' && isRole(payload.role)) {
        const sessionId = typeof payload.sid === 'string' ? payload.sid : undefined;
        return { kind: 'user', userId: sub, tenantId: payload.tid, role: payload.role, jti, exp: Number(payload.exp), ...(sessionId ? { sessionId } : {}) };
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
