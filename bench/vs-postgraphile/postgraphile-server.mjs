/**
 * PostGraphile v4 as the comparison runs it (bench/vs-postgraphile.ts starts this file with plain
 * `node`, in a process of its own): the library comes from the folder the benchmark installed it into
 * (POSTGRAPHILE_DIR, outside the project's dependencies), it connects as tessera_app (DATABASE_URL),
 * and every request's pgSettings do what Tessera's context + app_begin do: verify the access token
 * with jose against Tessera's JWKS (same algorithm, issuer, audience, typ and required claims), then
 * set the same transaction-local app.* settings, so the same RLS policies decide what it sees.
 * Production options: no GraphiQL, no query log, no watch, no batching, RBAC respected.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const require = createRequire(path.join(env('POSTGRAPHILE_DIR'), 'package.json'));
const { postgraphile } = require('postgraphile');

const jwks = createRemoteJWKSet(new URL(env('JWKS_URL')));
const verifyOptions = {
  algorithms: ['EdDSA'],
  issuer: env('JWT_ISSUER'),
  audience: env('JWT_AUDIENCE'),
  typ: 'at+jwt',
  requiredClaims: ['exp', 'iat', 'sub', 'jti'],
  clockTolerance: 5,
};

class Unauthenticated extends Error {
  status = 401;
}

const middleware = postgraphile(env('DATABASE_URL'), 'public', {
  graphqlRoute: '/graphql',
  graphiql: false,
  disableQueryLog: true,
  watchPg: false,
  enableQueryBatching: false,
  ignoreRBAC: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  legacyRelations: 'omit',
  retryOnInitFail: false,
  bodySizeLimit: '256kB',
  async pgSettings(req) {
    const m = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(String(req.headers.authorization ?? '').trim());
    if (!m) throw new Unauthenticated('Authorization header must be "Bearer <access token>"');
    let payload;
    try {
      ({ payload } = await jwtVerify(m[1], jwks, verifyOptions));
    } catch {
      throw new Unauthenticated('Invalid access token');
    }
    if (typeof payload.tid !== 'string') throw new Unauthenticated('Malformed access token');
    // What Tessera's app_begin sets for a tenant user's request (src/db/tenant-transaction.ts).
    return {
      'app.tenant_id': payload.tid,
      'app.user_id': String(payload.sub),
      'app.actor_type': 'USER',
      'app.actor_id': String(payload.sub),
      'app.request_id': crypto.randomUUID(),
      'app.client_ip': req.socket.remoteAddress ?? '',
      'app.user_agent': String(req.headers['user-agent'] ?? '').slice(0, 256),
    };
  },
});

const port = Number(env('PORT'));
http.createServer(middleware).listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'PostGraphile listening', port })));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
