import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { actors, ShortTransactionScope, type Scope } from '../db/tenant-transaction.js';
import { AppError, badInput, ErrorCode, notFound, toAppError } from '../errors.js';
import { listResourceTypes, listSchemas, resourceTypes, schemas, serviceProviderConfig } from '../modules/scim/discovery.js';
import { createScimGroup, deleteScimGroup, getScimGroup, listScimGroups, patchScimGroup, replaceScimGroup } from '../modules/scim/groups.js';
import { SCHEMAS } from '../modules/scim/protocol.js';
import { authenticateScim } from '../modules/scim/tokens.js';
import { createScimUser, deleteScimUser, getScimUser, listScimUsers, patchScimUser, replaceScimUser } from '../modules/scim/users.js';
import { unstorableText } from '../validation.js';

const SCIM_JSON = 'application/scim+json; charset=utf-8';

type Query = Record<string, unknown>;
type Handler = (scope: Scope, req: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, baseUrl: string) => Promise<unknown>;

/**
 * The tenant's SCIM 2.0 endpoint (RFC 7644) at /scim/v2: Users and Groups (organizations). The
 * bearer token names the tenant (src/modules/scim/tokens.ts); every request then runs as the SCIM
 * actor (the token) in a tenant transaction, under the same RLS and audit triggers as everything
 * else. Bodies are `application/scim+json` (or `application/json`). Every failure is answered in
 * the SCIM error schema, its status from the one error table (src/errors.ts).
 */
export function scimRoutes(app: App): FastifyPluginAsync {
  const baseUrl = `${app.config.publicUrl}/scim/v2`;
  return async (instance: FastifyInstance) => {
    instance.addContentTypeParser('application/scim+json', { parseAs: 'string' }, instance.getDefaultJsonParser('error', 'error'));
    instance.setErrorHandler((err, req, reply) => sendScimError(app, req, reply, err));

    const route = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, status: number, handler: Handler) =>
      instance.route<{ Params: { id: string }; Querystring: Query }>({
        method,
        url,
        handler: async (req, reply) => {
          const request = { requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'] };
          const caller = await authenticateScim(app.db, req.headers.authorization, request);
          const allowed = await app.rateLimits.checkScimToken(caller.tokenId);
          if (allowed !== true) throw allowed;
          if (req.body !== undefined) {
            const problems = unstorableText(req.body, 'body');
            if (problems.length) throw badInput(problems);
          }
          const scope = new ShortTransactionScope(app.db, actors.scim(caller.tokenId, caller.tenantId, request));
          const result = await handler(scope, req, baseUrl);
          if (status === 204) return reply.code(204).send();
          const location = (result as { meta?: { location?: string } }).meta?.location;
          if (status === 201 && location) reply.header('location', location);
          return reply.code(status).type(SCIM_JSON).send(result);
        },
      });

    route('GET', '/scim/v2/Users', 200, (scope, req, base) => listScimUsers(scope, base, req.query));
    route('POST', '/scim/v2/Users', 201, (scope, req, base) => createScimUser(scope, base, req.body));
    route('GET', '/scim/v2/Users/:id', 200, (scope, req, base) => getScimUser(scope, base, req.params.id));
    route('PUT', '/scim/v2/Users/:id', 200, (scope, req, base) => replaceScimUser(scope, base, req.params.id, req.body));
    route('PATCH', '/scim/v2/Users/:id', 200, (scope, req, base) => patchScimUser(scope, base, req.params.id, req.body));
    route('DELETE', '/scim/v2/Users/:id', 204, (scope, req) => deleteScimUser(scope, req.params.id));
    route('GET', '/scim/v2/Groups', 200, (scope, req, base) => listScimGroups(scope, base, req.query));
    route('POST', '/scim/v2/Groups', 201, (scope, req, base) => createScimGroup(scope, base, req.body));
    route('GET', '/scim/v2/Groups/:id', 200, (scope, req, base) => getScimGroup(scope, base, req.params.id, req.query.excludedAttributes));
    route('PUT', '/scim/v2/Groups/:id', 200, (scope, req, base) => replaceScimGroup(scope, base, req.params.id, req.body));
    route('PATCH', '/scim/v2/Groups/:id', 200, (scope, req, base) => patchScimGroup(scope, base, req.params.id, req.body));
    route('DELETE', '/scim/v2/Groups/:id', 204, (scope, req) => deleteScimGroup(scope, req.params.id));

    // What identity providers read to learn what this endpoint supports (RFC 7644 §4); also behind the token.
    route('GET', '/scim/v2/ServiceProviderConfig', 200, async (_scope, _req, base) => serviceProviderConfig(base));
    route('GET', '/scim/v2/ResourceTypes', 200, async (_scope, _req, base) => listResourceTypes(base));
    route('GET', '/scim/v2/ResourceTypes/:id', 200, async (_scope, req, base) => resourceTypes(base).find((r) => r.id === req.params.id) ?? Promise.reject(notFound('ResourceType')));
    route('GET', '/scim/v2/Schemas', 200, async (_scope, _req, base) => listSchemas(base));
    route('GET', '/scim/v2/Schemas/:id', 200, async (_scope, req, base) => schemas(base).find((r) => r.id === req.params.id) ?? Promise.reject(notFound('Schema')));
    // Anything else under /scim/v2 (another path, or a method a resource does not have) answers in the SCIM error schema too.
    instance.all('/scim/v2/*', async (req) => {
      throw new AppError('NOT_FOUND', `No SCIM endpoint ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`);
    });
  };
}

/** The SCIM error schema (RFC 7644 §3.12): status as a string, scimType where one applies. */
function sendScimError(app: App, req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = toAppError(err, app.log);
  const status = ErrorCode[e.code].http;
  const given = e.extensions.scimType;
  const scimType = typeof given === 'string' ? given : e.code === 'BAD_USER_INPUT' ? 'invalidValue' : e.code === 'CONFLICT' ? 'uniqueness' : undefined;
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="scim"');
  const retryAfter = Number(e.extensions.retryAfter);
  if (e.code === 'RATE_LIMITED' && retryAfter > 0) reply.header('retry-after', String(Math.ceil(retryAfter)));
  return reply
    .code(status)
    .headers({ 'x-request-id': req.id })
    .type(SCIM_JSON)
    .send({ schemas: [SCHEMAS.error], status: String(status), ...(scimType ? { scimType } : {}), detail: e.message, code: e.code, requestId: req.id });
}
