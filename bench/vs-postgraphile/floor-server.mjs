/**
 * The floor (BENCH_FLOOR=1 in bench/vs-postgraphile.ts): Tessera's own database path for the
 * single-user query with nothing of the GraphQL server around it, to tell what that path costs from
 * what the rest does. node:http; the token verified with jose against Tessera's JWKS and cached until
 * it expires (as src/auth/tokens.ts does); then the compiled Tessera's own pool (createAppDb) and
 * operation scope (OperationScope: BEGIN and app_begin with the two reads pipelined behind them,
 * COMMIT released at once) with the same prepared statements (usersByIds, organizationsOfUsers);
 * the answer built by hand. No Fastify, Apollo, permission rules, rate limits, loaders or metrics.
 * It answers only `{ user(id: "…") { id email organizations { name } } }`.
 */
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createAppDb } from '../../dist/db/client.js';
import { actors, OperationScope } from '../../dist/db/tenant-transaction.js';
import { usersByIds } from '../../dist/modules/users/queries.js';
import { organizationsOfUsers } from '../../dist/modules/organizations/queries.js';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const db = createAppDb({ url: env('DATABASE_URL'), max: 10, statementTimeoutMs: 30_000, applicationName: 'floor' });
const jwks = createRemoteJWKSet(new URL(env('JWKS_URL')));
const verifyOptions = { algorithms: ['EdDSA'], issuer: env('JWT_ISSUER'), audience: env('JWT_AUDIENCE'), typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'sub', 'jti'], clockTolerance: 5 };
const verified = new Map();

async function claimsOf(authorization) {
  const token = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(String(authorization ?? '').trim())?.[1];
  if (!token) return undefined;
  const hit = verified.get(token);
  if (hit && Date.now() < hit.untilMs) return hit.payload;
  const { payload } = await jwtVerify(token, jwks, verifyOptions);
  verified.set(token, { payload, untilMs: (payload.exp + 5) * 1000 });
  return payload;
}

async function answer(req, body) {
  const claims = await claimsOf(req.headers.authorization);
  if (!claims) return [401, { errors: [{ message: 'unauthenticated' }] }];
  const id = /user\(id: "([0-9a-f-]{36})"\)/.exec(JSON.parse(body).query ?? '')?.[1];
  if (!id) return [400, { errors: [{ message: 'the floor answers only { user(id:) { id email organizations { name } } }' }] }];
  const scope = new OperationScope(db, actors.user(claims.sub, claims.tid, { clientIp: req.socket.remoteAddress, userAgent: req.headers['user-agent'] }, claims.sid));
  let ok = false;
  try {
    // Read ahead of the session check, as Tessera's read-ahead does: one round trip.
    const reads = Promise.all([scope.read((tx) => usersByIds(tx, [id])), scope.read((tx) => organizationsOfUsers(tx, [id]))]);
    reads.catch(() => undefined);
    const session = await scope.session();
    if (session.tenantStatus !== 'ACTIVE' || session.userStatus !== 'ACTIVE') return [401, { errors: [{ message: 'session ended' }] }];
    const [[u], [organizations]] = await reads;
    ok = true;
    return [200, { data: { user: u ? { id: u.id, email: u.email, organizations: organizations.map((o) => ({ name: o.name })) } : null } }];
  } finally {
    await scope.finish(ok);
  }
}

http
  .createServer((req, res) => {
    if (req.method === 'GET') return void res.writeHead(200).end('ok'); // readiness
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      answer(req, body).then(
        ([status, json]) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json)),
        (err) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(err) }] })),
      );
    });
  })
  .listen(Number(env('PORT')), '127.0.0.1');

process.once('SIGTERM', () => process.exit(0)); // an orderly exit (a --cpu-prof profile is written at exit)
