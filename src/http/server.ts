import crypto from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { WebSocketServer } from 'ws';
import { sql } from 'drizzle-orm';
import type { App } from '../app.js';
import { buildSchema } from '../graphql/schema.js';
import { createContext, type Context } from '../graphql/context.js';
import { compiledExecution } from '../graphql/compiled-executor.js';
import { registerAuditExport } from './audit-export.js';
import { LIMITS, PARSE_OPTIONS, operationProtections } from './protections.js';
import { formatGraphQLError, httpStatusOf, isDatabaseUnavailable, withHttpStatus } from '../errors.js';
import { clientErrorHandler, frameworkErrors, registerErrorReplies } from './error-replies.js';
import { webhookRoutes } from './webhooks.js';
import { scimRoutes } from './scim.js';
import { ssoRoutes } from './sso.js';
import { serveGraphQLOverWebSocket } from './graphql-ws.js';
import { registerMetricsRoute, startMetricsListener } from './metrics-endpoint.js';
import { registerExplorer } from './explorer.js';
import { IDEMPOTENCY_HEADER, idempotencyPlugin, recordIdempotentResponse } from './idempotency.js';
import { registerImportRoutes } from './imports.js';


export interface HttpServer {
  fastify: FastifyInstance;
  url: string;
  /** The separate metrics listener's URL, when METRICS_PORT is set. */
  metricsUrl?: string | undefined;
  /**
   * Graceful stop: /readyz answers 503 at once, the listener stops accepting, requests in flight
   * finish (up to graceMs, then their connections are cut), WebSockets are closed with 1001.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** How long each /readyz check may take before it counts as unreachable. */
const READY_CHECK_MS = 2000;

function withinBound<T>(work: Promise<T>, ms = READY_CHECK_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  work.catch(() => undefined); // settles after the bound: nobody waits for it any more
  return Promise.race([work, bound]).finally(() => clearTimeout(timer));
}

/** Fastify with Apollo on POST/GET /graphql, graphql-ws on the same path, health and JWKS routes. */
export async function startHttpServer(app: App, opts: { host: string; port: number }): Promise<HttpServer> {
  const fastify = Fastify({
    loggerInstance: app.log as FastifyBaseLogger,
    trustProxy: app.config.TRUST_PROXY as boolean, // or an address list: the union trips Fastify's overloads
    // Per-request lines only at debug: at info they would dominate the log (and the benchmark).
    logController: new LogController({ disableRequestLogging: app.config.LOG_LEVEL !== 'debug' && app.config.LOG_LEVEL !== 'trace' }),
    bodyLimit: LIMITS.bodyLimit,
    frameworkErrors: frameworkErrors(app.log),
    clientErrorHandler,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    },
  });
  let draining = false;
  fastify.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Shutting down: the connection closes after this response, so keep-alive clients reconnect elsewhere.
    if (draining) reply.header('connection', 'close');
  });
  fastify.addHook('onResponse', async (req, reply) => {
    app.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_class: `${Math.floor(reply.statusCode / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  });

  // Every failure answer, Fastify's own included (404/405, 413, 415, malformed JSON or URL), in the error shapes.
  registerErrorReplies(fastify, app.log);

  const schema = buildSchema();
  const protections = operationProtections(schema);
  const apollo = new ApolloServer<Context>({
    gateway: compiledExecution(schema),
    validationRules: protections.validationRules,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    parseOptions: PARSE_OPTIONS,
    introspection: !app.config.isProduction,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: app.config.isProduction,
    formatError: (formatted, error) => formatGraphQLError(formatted, error, app.log),
    // Compact JSON: Apollo pretty-prints by default (indentation costs CPU and ~30 % more bytes per answer).
    stringifyResult: (result) => JSON.stringify(result),
    // The process owns its shutdown order (src/main.ts); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    plugins: [
      ...protections.plugins,
      idempotencyPlugin(),
      operationScopePlugin(app.config.IDEMPOTENCY_TTL_SECONDS),
      statusCodePlugin(),
      requestMetricsPlugin(app),
      // Built-ins that would do nothing for us but cost every request: cache hints (a hook on every
      // field resolver; our answers are per user and never cacheable: statusCodePlugin says no-store),
      // and Apollo's usage reporting and traces (installed when APOLLO_KEY is set; data stays here).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  });
  await apollo.start();

  const handler = fastifyApolloHandler(apollo, {
    context: async (req) => {
      try {
        return await createContext(app, {
          authorization: req.headers.authorization,
          requestId: req.id,
          clientIp: req.ip,
          userAgent: req.headers['user-agent'],
          tenantHeader: typeof req.headers['x-tenant'] === 'string' ? req.headers['x-tenant'] : undefined,
          host: req.host, // X-Forwarded-Host from a trusted proxy (TRUST_PROXY), else Host
          // From Fastify, not Apollo's header map: that drops an empty header, and an empty key must be refused.
          idempotencyKey: req.headers[IDEMPOTENCY_HEADER] as string | undefined,
        });
      } catch (err) {
        throw withHttpStatus(err, app.log);
      }
    },
  });
  fastify.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler });

  await fastify.register(webhookRoutes(app));
  await fastify.register(registerImportRoutes(app));
  await fastify.register(scimRoutes(app));
  await fastify.register(ssoRoutes(app));

  registerAuditExport(fastify, app);
  if (!app.config.isProduction) registerExplorer(fastify);
  fastify.get('/healthz', async () => ({ status: 'ok' }));
  // Ready when the app role reaches the database and the job queue (pg-boss, owner connection) answers,
  // and not shutting down (a load balancer then sends new requests elsewhere).
  fastify.get('/readyz', async (_req, reply) => {
    if (draining) return reply.code(503).send({ status: 'shutting_down' });
    // Each check within READY_CHECK_MS: a probe must get its answer before the orchestrator's own
    // timeout (the Dockerfile's HEALTHCHECK allows 3 s), also from a connection that never answers.
    const [database, queue] = await Promise.all([
      withinBound(app.db.execute(sql`select 1`)).then(
        () => 'ok',
        () => 'unreachable',
      ),
      withinBound(app.jobs.ping()).then(
        (backlog) => ({ status: 'ok', backlog }),
        () => ({ status: 'unreachable' }),
      ),
    ]);
    const ready = database === 'ok' && queue.status === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { database, queue } });
  });
  // Prometheus scrape endpoint: this app's own registry, behind METRICS_TOKEN and/or on METRICS_PORT.
  registerMetricsRoute(fastify, app);
  fastify.get('/.well-known/jwks.json', async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(app.keys.jwks));

  await fastify.listen({ host: opts.host, port: opts.port });
  const metricsListener = await startMetricsListener(app);
  // A message over the HTTP body limit closes the socket with 1009 before it is read (ws's default is 100 MiB).
  const wsServer = new WebSocketServer({ server: fastify.server, path: '/graphql', maxPayload: LIMITS.bodyLimit });
  const ws = serveGraphQLOverWebSocket(app, schema, protections, wsServer);

  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    fastify,
    url: `http://${opts.host}:${port}`,
    metricsUrl: metricsListener?.url,
    close: async ({ graceMs = 10_000 } = {}) => {
      draining = true;
      // After the grace period, cut what is left (HTTP connections, and sockets that ignored the close frame).
      const cut = setTimeout(() => {
        fastify.server.closeAllConnections();
        for (const socket of wsServer.clients) socket.terminate();
      }, graceMs);
      cut.unref();
      try {
        // fastify.close stops accepting, closes idle keep-alive connections, answers requests that
        // arrive on busy ones with 503 + Connection: close, and resolves when the last one is done.
        await Promise.all([ws.dispose(), fastify.close(), metricsListener?.close()]);
      } finally {
        clearTimeout(cut);
      }
      await apollo.stop();
    },
  };
}

/**
 * Finishes the operation's tenant transaction before the response leaves: commit unless nothing
 * succeeded. A mutation sent with an Idempotency-Key has its response stored first, in the same
 * transaction (./idempotency.ts).
 */
function operationScopePlugin(idempotencyTtlSeconds: number): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const succeeded = body?.data != null && Object.values(body.data).some((v) => v !== null);
          try {
            if (succeeded) await recordIdempotentResponse(contextValue, response.http.status, body, idempotencyTtlSeconds);
            await contextValue.scope?.finish(succeeded);
          } catch (err) {
            await contextValue.scope?.finish(false).catch(() => undefined); // (if storing the idempotent response failed)
            // The database going away is an outage, not a bug: only other failures log at error level.
            if (isDatabaseUnavailable(err)) contextValue.log.warn({ err }, 'operation transaction failed to commit');
            else contextValue.log.error({ err }, 'operation transaction failed to commit');
            if (body) {
              body.data = null;
              body.errors = [{ message: 'The operation could not be committed; nothing was changed', extensions: { code: 'SERVICE_UNAVAILABLE' } }];
              // Apollo runs willSendResponse hooks side by side: statusCodePlugin has seen the body before this change.
              response.http.status = 503;
            }
          }
        },
      };
    },
  };
}

/**
 * Answers are never cacheable. Errors outside execution (context, parsing) take their HTTP status from
 * the error table. A request refused by a rate limit (nothing else succeeded) answers 429 with
 * Retry-After, as HTTP clients expect; one that got nothing because the database was unavailable
 * answers 503, so load balancers, proxies and HTTP clients see an outage as one and retry, as they do
 * for webhooks (nothing was committed: the operation's transaction commits only when a field succeeded).
 */
function statusCodePlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          // Every answer is the caller's own (what Apollo's cache-control plugin said, which is off).
          response.http.headers.set('cache-control', 'no-store');
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          if (!body?.errors?.length) return;
          const nothingSucceeded = body.data == null || Object.values(body.data).every((v) => v === null);
          const limited = body.errors.filter((e) => e.extensions?.code === 'RATE_LIMITED');
          if (nothingSucceeded && limited.length) {
            response.http.status = 429;
            const retryAfter = Math.max(...limited.map((e) => Number(e.extensions?.retryAfter) || 1));
            response.http.headers.set('retry-after', String(retryAfter));
            return;
          }
          if (nothingSucceeded && body.errors.some((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE')) {
            response.http.status = 503;
            return;
          }
          // Refused before execution: the error table's status (Apollo answers 500 for errors thrown by plugins).
          if (body.data === undefined) response.http.status = httpStatusOf(body.errors[0]?.extensions?.code);
        },
      };
    },
  };
}

/** Counts GraphQL operations by type and outcome (bounded labels: no operation names, no users). */
function requestMetricsPlugin(app: App): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, response }) {
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const outcome = !body?.errors?.length ? 'success' : body.data ? 'partial' : 'error';
          app.metrics.graphqlRequests.inc({ operation: operation?.operation ?? 'unknown', outcome });
        },
      };
    },
  };
}
