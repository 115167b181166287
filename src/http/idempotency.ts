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
import { getArgumentValues, Kind, print, type DocumentNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import type { Context } from '../graphql/context.js';
import { AppError, badInput, forbidden } from '../errors.js';
import { accessCheck } from '../auth/permissions.js';
import { atLeast, type Viewer } from '../auth/roles.js';
import type { TenantRole } from '../auth/tokens.js';
import { permissionMap } from '../graphql/permissions.js';
import { claimIdempotencyKey, storeIdempotentResponse, type IdempotencyClaim } from '../modules/idempotency/service.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
/** Printable ASCII, 1–255 characters (a UUID is the usual choice). */
const KEY = /^[\x21-\x7e]{1,255}$/;

const claims = new WeakMap<Context, IdempotencyClaim & { replayed?: boolean; role?: TenantRole }>();

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
    async requestDidStart({ contextValue }) {
      const header = contextValue.idempotencyKey;
      if (header === undefined) return;
      return {
        async responseForOperation({ operation, document, request: req, contextValue, schema }) {
          // `operation` is unset when the operation name matched none (typed as always set): Apollo refuses it after this hook.
          if ((operation as typeof operation | undefined)?.operation !== 'mutation' || !contextValue.scope || contextValue.claims?.kind !== 'user') return null;
          if (!KEY.test(header)) return refusal(badInput([{ field: 'Idempotency-Key', message: '1–255 printable ASCII characters (e.g. a UUID)' }]));
          const claim: IdempotencyClaim = {
            principalId: contextValue.claims.userId,
            key: header,
            requestHash: crypto.createHash('sha256').update(canonical([print(document), req.operationName ?? null, req.variables ?? {}])).digest('hex'),
          };
          try {
            // The viewer first: a revoked key or suspended tenant must not read stored responses.
            const viewer = await contextValue.viewer();
            const stored = await claimIdempotencyKey(contextValue.scope, claim, contextValue.app.secrets);
            if (!stored) {
              claims.set(contextValue, { ...claim, ...(viewer.kind === 'user' ? { role: viewer.role } : {}) });
              return null;
            }
            // Nor a caller who may no longer make this call: refused as the permission map would refuse
            // it now, and refused too when their role is below the one they made it with (the services'
            // checks of what a role may grant, an API key's for instance, are not the map's).
            const refused =
              mayNotCallNow(schema, document, operation.selectionSet, req.variables ?? {}, viewer) ??
              (viewer.kind === 'user' && stored.role && !atLeast(viewer.role, stored.role) ? forbidden(`This call was made with role ${stored.role}; your role is now ${viewer.role}`, { reason: 'ROLE_CHANGED' }) : null);
            if (refused) return refusal(refused);
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

/**
 * The refusal the permission map would give `viewer` now for a root field of the mutation (its
 * rules' checks of who may call, with the field's arguments), or null when every field is allowed.
 */
function mayNotCallNow(schema: GraphQLSchema, document: DocumentNode, selections: SelectionSetNode, variables: Record<string, unknown>, viewer: Viewer): AppError | null {
  const fields = schema.getMutationType()!.getFields();
  for (const selection of selections.selections) {
    let refused: true | AppError | null = null;
    if (selection.kind === Kind.FIELD) {
      const field = fields[selection.name.value];
      if (!field) continue; // __typename
      refused = accessCheck(permissionMap.Mutation[field.name as keyof typeof permissionMap.Mutation], viewer, getArgumentValues(field, selection, variables));
    } else {
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment && 'selectionSet' in fragment) refused = mayNotCallNow(schema, document, fragment.selectionSet, variables, viewer);
    }
    if (refused instanceof AppError) return refused;
  }
  return null;
}

/** Stores the response of a first request (in the operation's transaction, before it commits). */
export async function recordIdempotentResponse(ctx: Context, status: number | undefined, body: unknown, ttlSeconds: number): Promise<void> {
  const claim = claims.get(ctx);
  if (!claim || claim.replayed || !ctx.scope) return;
  await storeIdempotentResponse(ctx.scope, claim, { status: status ?? 200, body, ...(claim.role ? { role: claim.role } : {}) }, ttlSeconds, ctx.app.secrets);
}
