import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { IMiddlewareTypeMap } from 'graphql-middleware';
import type { Context } from './context.js';

/**
 * Read-ahead for root query fields: a field's resolver starts while its permission rule waits for the
 * session. The rule needs app_begin's answer (the tenant's and the user's status and role as they are
 * now); the resolver's reads need only the transaction, whose settings app_begin has set by the time
 * they run (OperationScope pipelines them behind it). So BEGIN, app_begin and the field's first read
 * leave in one write and come back in one round trip: a round trip less per operation.
 *
 * What was read ahead is used only once the rule admits the field; a refused field answers the rule's
 * error and its reads are dropped, never shown. Only
 *  - for query operations (their resolvers only read), in an operation's own transaction (HTTP: on a
 *    socket every read is a short transaction of its own) opened for a verified access token;
 *  - for `fields`, those any user of the tenant may read: nobody makes the database do what their
 *    role would be refused;
 *  - while the tenant is within its request budget (as this process last saw it): a tenant over it
 *    costs no reads, only the refusals.
 *
 * Returns the middleware that starts the reads; it must run outside the permission middleware (first
 * in applyMiddleware). Those fields' resolvers are replaced by ones that take what was read ahead.
 */
export function readAheadRootQueries(schema: GraphQLSchema, fields: ReadonlySet<string>): IMiddlewareTypeMap<unknown, Context> {
  const query = schema.getQueryType();
  const starts: Record<string, (next: GraphQLFieldResolver<unknown, Context>, parent: unknown, args: Record<string, unknown>, ctx: Context, info: GraphQLResolveInfo) => unknown> = {};
  for (const field of Object.values(query?.getFields() ?? {}).filter((f) => fields.has(f.name))) {
    const resolve = (field.resolve ?? defaultFieldResolver) as GraphQLFieldResolver<unknown, Context>;
    // As the rule's middleware calls it once the field is admitted: what was read ahead, if anything.
    field.resolve = (parent, args, ctx: Context, info) => {
      const ahead = ctx.readAhead?.get(info.path.key as string);
      return ahead ?? resolve(parent, args, ctx, info);
    };
    starts[field.name] = (next, parent, args, ctx, info) => {
      if (info.operation.operation === 'query' && ctx.scope?.readsAhead && !ctx.app.rateLimits.tenantOverBudget(ctx.scope.actor.tenantId)) {
        let ahead: Promise<unknown>;
        try {
          ahead = Promise.resolve(resolve(parent, args, ctx, info));
        } catch (err) {
          ahead = Promise.reject(err);
        }
        ahead.catch(() => undefined); // a refused field's failure is nobody's: the rule answers
        (ctx.readAhead ??= new Map()).set(info.path.key as string, ahead);
      }
      return next(parent, args, ctx, info);
    };
  }
  return { Query: starts };
}
