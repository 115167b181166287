import crypto from 'node:crypto';
import type { App } from '../app.js';
import { operatorIdOf, type Actor, type Viewer } from '../auth/roles.js';
import type { AccessClaims } from '../auth/tokens.js';
import type { TenantAddress } from '../auth/tenant-address.js';
import { looksLikeApiKey, parseApiKey } from '../auth/api-keys.js';
import { actors, OperationScope, ShortTransactionScope, type RequestInfo, type RequestScope } from '../db/tenant-transaction.js';
import { AppError, unauthenticated } from '../errors.js';
import type { Logger } from '../logger.js';
import { createLoaders, type Loaders } from './loaders.js';

export type { Viewer };

export interface Context {
  app: App;
  log: Logger;
  request: RequestInfo & { requestId: string };
  /** The tenant the request's X-Tenant header and host name, for unauthenticated operations (src/auth/tenant-address.ts). */
  address: TenantAddress;
  /** Verified token claims; null when no token was sent. A bad token never gets this far. */
  claims: AccessClaims | null;
  /** The operation's tenant transaction, when the caller is a tenant user. */
  scope: RequestScope | null;
  loaders: Loaders;
  /** Root query fields' results read ahead of their permission rule, by response key (./read-ahead.ts). */
  readAhead?: Map<string, Promise<unknown>>;
  /** The Idempotency-Key header as sent (HTTP only). */
  idempotencyKey?: string | undefined;
  /** The caller as they are now (tenant and user status checked in the database), memoized. */
  viewer(): Promise<Viewer>;
  /** The acting tenant user; throws UNAUTHENTICATED for anyone else. */
  actor(): Promise<Actor>;
  /** The platform operator's id; throws what the operator rule answers for anyone else. */
  operatorId(): Promise<string>;
}

export interface ContextInput {
  authorization?: string | undefined;
  requestId?: string | undefined;
  clientIp?: string | undefined;
  userAgent?: string | undefined;
  /** X-Tenant and Host headers (HTTP only). */
  tenantHeader?: string | undefined;
  host?: string | undefined;
  /** 'operation': one transaction for the whole operation (HTTP). 'short': one per call (WebSocket). */
  transactions?: 'operation' | 'short';
  /** The Idempotency-Key header as sent, empty included (HTTP only; src/http/idempotency.ts). */
  idempotencyKey?: string | undefined;
}

/** Built the same way for HTTP requests and WebSocket subscriptions. */
export async function createContext(app: App, input: ContextInput): Promise<Context> {
  const requestId = input.requestId ?? crypto.randomUUID();
  const request = { requestId, clientIp: input.clientIp, userAgent: input.userAgent };
  const claims = await verifyBearer(app, input.authorization);
  const actor =
    claims?.kind !== 'user' ? null : claims.apiKey ? actors.apiKey(claims.apiKey.id, claims.apiKey.hash, claims.tenantId, request) : actors.user(claims.userId, claims.tenantId, request, claims.sessionId);
  const scope = actor ? (input.transactions === 'short' ? new ShortTransactionScope(app.db, actor, app.jobs) : new OperationScope(app.db, actor, app.jobs)) : null;
  let viewer: Promise<Viewer> | undefined;
  const ctx: Context = Object.assign(new RequestLog(), {
    app,
    request,
    address: { header: input.tenantHeader, host: input.host },
    idempotencyKey: input.idempotencyKey,
    claims,
    scope,
    loaders: createLoaders(scope),
    viewer: () => (viewer ??= resolveViewer(claims, scope)),
    actor: async () => {
      const v = await ctx.viewer();
      if (v.kind !== 'user') throw unauthenticated();
      return v;
    },
    operatorId: async () => operatorIdOf(await ctx.viewer()),
  });
  return ctx;
}

/**
 * A context's `log`, a pino child naming the request, made on first use (rare: an error to log), not
 * for every request. It is a getter of the prototype, not of the context itself:
 * Apollo copies a context's own properties into a new object for every operation (Object.assign),
 * which would run an own getter, and so make the child, every time.
 */
class RequestLog {
  declare app: App;
  declare request: { requestId: string };
  get log(): Logger {
    const log = this.app.log.child({ requestId: this.request.requestId });
    Object.defineProperty(this, 'log', { value: log });
    return log;
  }
}

async function verifyBearer(app: App, authorization: string | undefined): Promise<AccessClaims | null> {
  if (!authorization) return null;
  // The scheme is case-insensitive (RFC 9110 §11.1): "bearer" and "BEARER" are "Bearer".
  const m = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(authorization.trim());
  if (!m?.[1]) throw unauthenticated('Authorization header must be "Bearer <access token>"');
  if (looksLikeApiKey(m[1])) return apiKeyClaims(m[1]);
  return app.tokens.verify(m[1]);
}

/**
 * An API key as claims: only its shape is checked here (no crypto, no query); the operation's first
 * statement (app_begin) checks its hash, revocation and expiry and reads its role, like a user's.
 * `exp` is the socket timer's: graphql-ws reads the key's own expiry when a socket opens.
 */
function apiKeyClaims(credential: string): AccessClaims {
  const key = parseApiKey(credential);
  if (!key) throw unauthenticated('Invalid API key');
  return { kind: 'user', userId: key.keyId, tenantId: key.tenantId, role: 'VIEWER', jti: key.keyId, exp: Number.MAX_SAFE_INTEGER, apiKey: { id: key.keyId, hash: key.hash } };
}

async function resolveViewer(claims: AccessClaims | null, scope: RequestScope | null): Promise<Viewer> {
  if (!claims) return { kind: 'anonymous' };
  if (claims.kind === 'platform') return { kind: 'platform', operatorId: claims.operatorId };
  const session = await scope!.session();
  if (!session.tenantStatus) throw unauthenticated('Unknown tenant');
  if (session.tenantStatus !== 'ACTIVE') throw new AppError('FORBIDDEN', 'This tenant is suspended', { reason: 'TENANT_SUSPENDED' });
  if (session.userStatus !== 'ACTIVE' || !session.userRole) throw unauthenticated(claims.apiKey ? 'Invalid API key (unknown, revoked or expired)' : 'This session has ended or the account is not active');
  // The role is read now, not taken from the token, so a demotion takes effect at once.
  return { kind: 'user', userId: claims.userId, tenantId: claims.tenantId, role: session.userRole, ...(claims.apiKey ? { apiKeyId: claims.apiKey.id } : {}) };
}
