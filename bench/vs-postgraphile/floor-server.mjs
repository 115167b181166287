/**
 * The floor (BENCH_FLOOR in bench/vs-postgraphile.ts): Tessera's own database path for the
 * single-user query with as little as possible around it, to tell what that path costs from what the
 * GraphQL server around it does. The token is verified with jose against Tessera's JWKS and cached
 * until it expires (as src/auth/tokens.ts does); then the compiled Tessera's own pool (createAppDb) and
 * operation scope (OperationScope: BEGIN and app_begin with the two reads pipelined behind them,
 * COMMIT released at once) with the same prepared statements (usersByIds, organizationsOfUsers).
 * It answers only `{ user(id: "…") { id email organizations { name } } }`. FLOOR_STAGE says what is
 * around that path, one layer of Tessera's server more at each stage:
 *  - `http` (default): node:http, the id read from the query text, the answer built by hand;
 *  - `fastify`: a Fastify route instead (its JSON body parser and reply);
 *  - `apollo`: Apollo Server 5 on that route (@as-integrations/fastify), a three-type schema whose one
 *    resolver takes the same path, graphql-js executing; no permission rules, rate limits, loaders,
 *    plugins or compiled executor.
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
const port = Number(env('PORT'));

class Refused extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function claimsOf(authorization) {
  const token = /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(String(authorization ?? '').trim())?.[1];
  if (!token) throw new Refused(401, 'unauthenticated');
  const hit = verified.get(token);
  if (hit && Date.now() < hit.untilMs) return hit.payload;
  const { payload } = await jwtVerify(token, jwks, verifyOptions);
  verified.set(token, { payload, untilMs: (payload.exp + 5) * 1000 });
  return payload;
}

/** The user and their organizations' names, in one tenant transaction as Tessera reads them. */
async function userWithOrganizations(claims, id, request) {
  const scope = new OperationScope(db, actors.user(claims.sub, claims.tid, request, claims.sid));
  let ok = false;
  try {
    // Read ahead of the session check, as Tessera's read-ahead does: one round trip.
    const reads = Promise.all([scope.read((tx) => usersByIds(tx, [id])), scope.read((tx) => organizationsOfUsers(tx, [id]))]);
    reads.catch(() => undefined);
    const session = await scope.session();
    if (session.tenantStatus !== 'ACTIVE' || session.userStatus !== 'ACTIVE') throw new Refused(401, 'session ended');
    const [[u], [organizations]] = await reads;
    ok = true;
    return u ? { id: u.id, email: u.email, organizations: organizations.map((o) => ({ name: o.name })) } : null;
  } finally {
    await scope.finish(ok);
  }
}

/** For the stages without GraphQL: the answer to the one query, from its text. */
async function answer(headers, clientIp, body) {
  const claims = await claimsOf(headers.authorization);
  const id = /user\(id: "([0-9a-f-]{36})"\)/.exec(body?.query ?? '')?.[1];
  if (!id) throw new Refused(400, 'the floor answers only { user(id:) { id email organizations { name } } }');
  return { data: { user: await userWithOrganizations(claims, id, { clientIp, userAgent: headers['user-agent'] }) } };
}
const failure = (err) => [err instanceof Refused ? err.status : 500, { errors: [{ message: String(err.message ?? err) }] }];

const stage = process.env.FLOOR_STAGE ?? 'http';
if (stage === 'http') {
  http
    .createServer((req, res) => {
      if (req.method === 'GET') return void res.writeHead(200).end('ok'); // readiness
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        Promise.resolve()
          .then(() => answer(req.headers, req.socket.remoteAddress, JSON.parse(body)))
          .then((json) => [200, json], failure)
          .then(([status, json]) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json)));
      });
    })
    .listen(port, '127.0.0.1');
} else {
  const { default: Fastify } = await import('fastify');
  const fastify = Fastify();
  fastify.get('/graphql', async () => 'ok'); // readiness
  if (stage === 'fastify') {
    fastify.post('/graphql', async (req, reply) => {
      const [status, json] = await answer(req.headers, req.ip, req.body).then((j) => [200, j], failure);
      return reply.code(status).send(json);
    });
  } else if (stage === 'apollo') {
    const { ApolloServer } = await import('@apollo/server');
    const { fastifyApolloHandler } = await import('@as-integrations/fastify');
    const { ApolloServerPluginCacheControlDisabled, ApolloServerPluginUsageReportingDisabled } = await import('@apollo/server/plugin/disabled');
    const apollo = new ApolloServer({
      typeDefs: 'type Organization { name: String! } type User { id: ID! email: String! organizations: [Organization!]! } type Query { user(id: ID!): User }',
      resolvers: { Query: { user: (_, { id }, ctx) => userWithOrganizations(ctx.claims, id, ctx.request) } },
      plugins: [ApolloServerPluginCacheControlDisabled(), ApolloServerPluginUsageReportingDisabled()],
    });
    await apollo.start();
    fastify.post('/graphql', fastifyApolloHandler(apollo, { context: async (req) => ({ claims: await claimsOf(req.headers.authorization), request: { clientIp: req.ip, userAgent: req.headers['user-agent'] } }) }));
  } else {
    throw new Error(`FLOOR_STAGE must be http, fastify or apollo, not ${stage}`);
  }
  await fastify.listen({ port, host: '127.0.0.1' });
}

process.once('SIGTERM', () => process.exit(0)); // an orderly exit (a --cpu-prof profile is written at exit)
