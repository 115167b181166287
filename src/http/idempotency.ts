/**
 * The `Idempotency-Key` header on POST /graphql (issue 15), as payment APIs made it standard:
 *  - on a mutation of a tenant principal (user or API key), the first request's response is stored
 *    per tenant + principal + key for IDEMPOTENCY_TTL_SECONDS (24 h), in the operation's transaction;
 *  - a repeat with the same operation and variables gets the stored response (and the status it had)
 *    with `Idempotent-Replayed: true`, and nothing runs;
 *  - a repeat with a different body: 422 IDEMPOTENCY_KEY_REUSED; while the first still runs:
 *    409 IDEMPOTENCY_KEY_IN_USE (retry: the stored response comes back once it committed).
 * A key on a query, or from a caller without a tenant (login, the platform operator), is ignored.
 * The SQL is in src/modules/idempotency/service.ts; `recordIdempotentResponse` is called by the
 * operation-scope plugin (server.ts) just before it commits, so record and effects commit together.
 */
import crypto from 'node:crypto';
import { print } from 'graphql';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import type { Context } from '../graphql/context.js';
import { AppError, badInput } from '../errors.js';
import { claimIdempotencyKey, storeIdempotentResponse, type IdempotencyClaim } from '../modules/idempotency/service.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
/** Printable ASCII, 1–255 characters (a UUID is the usual choice). */
const KEY = /^[\x21-\x7e]{1,255}$/;

const claims = new WeakMap<Context, IdempotencyClaim & { replayed?: boolean }>();

/** JSON with object keys sorted at every level: equal variables hash equally whatever their order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const refusal = (err: AppError): GraphQLResponse => ({
  http: { status: undefined, headers: new HeaderMap() },
  body: { kind: 'single', singleResult: { errors: [{ message: err.message, extensions: err.extensions }] } },
});

export function idempotencyPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ request }) {
      const header = request.http?.headers.get(IDEMPOTENCY_HEADER);
      if (header === undefined) return;
      return {
        async responseForOperation({ operation, document, request: req, contextValue }) {
          if (operation.operation !== 'mutation' || !contextValue.scope || contextValue.claims?.kind !== 'user') return null;
          if (!KEY.test(header)) return refusal(badInput([{ field: 'Idempotency-Key', message: '1–255 printable ASCII characters (e.g. a UUID)' }]));
          const claim: IdempotencyClaim = {
            principalId: contextValue.claims.userId,
            key: header,
            requestHash: crypto.createHash('sha256').update(canonical([print(document), req.operationName ?? null, req.variables ?? {}])).digest('hex'),
          };
          try {
            // The viewer first: a revoked key or suspended tenant must not read stored responses.
            await contextValue.viewer();
            const stored = await claimIdempotencyKey(contextValue.scope, claim, contextValue.app.secrets);
            if (!stored) {
              claims.set(contextValue, claim);
              return null;
            }
            claims.set(contextValue, { ...claim, replayed: true });
            return { http: { status: stored.status, headers: new HeaderMap([[REPLAYED_HEADER, 'true']]) }, body: { kind: 'single', singleResult: stored.body as never } };
          } catch (err) {
            if (err instanceof AppError) return refusal(err);
            throw err;
          }
        },
      };
    },
  };
}

/** Stores the response of a first request (in the operation's transaction, before it commits). */
export async function recordIdempotentResponse(ctx: Context, status: number | undefined, body: unknown, ttlSeconds: number): Promise<void> {
  const claim = claims.get(ctx);
  if (!claim || claim.replayed || !ctx.scope) return;
  await storeIdempotentResponse(ctx.scope, claim, { status: status ?? 200, body }, ttlSeconds, ctx.app.secrets);
}
