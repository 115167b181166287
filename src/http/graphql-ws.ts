/**
 * GraphQL over WebSocket (graphql-ws on /graphql) with credentials that stay live (ARCHITECTURE
 * invariant 11). A socket is authenticated when it connects, and then:
 *
 *  - every new operation builds a fresh context, exactly as an HTTP request does: the token is
 *    verified again and the user's status, role and tenant are read from the database, so a
 *    demoted user's new ADMIN subscription is refused (FORBIDDEN) on the open socket;
 *  - every event delivered is checked against the subscriber's current standing, kept in memory by
 *    PrincipalWatch (src/realtime/principals.ts) and refreshed by NOTIFY: no query per event;
 *  - a change that ends the standing closes the socket with 4403 within a second (measured: tens of
 *    ms): deactivation or deletion of the user, suspension of the tenant, logout (the access
 *    token's session revoked), revocation of the API key the socket authenticated with, or a demotion below what one of its subscriptions needs;
 *  - at the access token's expiry the socket is closed with 4403 as well. graphql-ws clients retry
 *    on 4403 (not on 4401), so a client whose connectionParams is a function reconnects with a
 *    fresh token. The close reason says which case it was.
 *
 * HTTP's limits hold on the socket too (README "Errors", docs/limits.md): a message over the body
 * limit closes it (1009); an operation refused before it runs, or one over the per-socket cap, gets
 * an `error` message with HTTP's code for its id alone, and the socket carries on.
 */
import { createRequire } from 'node:module';
import { Kind, getOperationAST, getVariableValues, parse, specifiedRules, validate, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLSchema, type SelectionSetNode, type ValidationRule } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { App } from '../app.js';
import { ROLE_RANK } from '../auth/roles.js';
import { SUBSCRIPTION_ROLES } from '../graphql/permissions.js';
import type { TenantRole } from '../auth/tokens.js';
import { createContext, type Context } from '../graphql/context.js';
import { eq } from 'drizzle-orm';
import { apiKeys } from '../db/schema.js';
import { AppError, formatGraphQLError, type ErrorCodeName } from '../errors.js';
import { PARSE_OPTIONS, type OperationProtections } from './protections.js';
import type { Principal, Standing } from '../realtime/principals.js';

/**
 * graphql-ws accepts errors from onSubscribe only as instances of the GraphQLError it loaded itself
 * (Node's resolution: graphql's CommonJS build). Under vitest our own `import 'graphql'` may get the
 * ESM build, a different class; requiring it names the same copy graphql-ws has in every runtime.
 */
const { GraphQLError: WsGraphQLError } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/** graphql-ws's Forbidden: the client may retry (with fresh connection params). */
export const CLOSE_FORBIDDEN = 4403;

type Extra = { live?: LiveSocket };

/** One open socket's principal, token expiry and running subscriptions. */
class LiveSocket {
  /**
   * Operations running on this socket, by their subscribe message's payload (an id names one only
   * until its client completes it: the operation may still run, and the id be reused meanwhile), with
   * the role a subscription needs. Counted for WS_MAX_SUBSCRIPTIONS_PER_SOCKET.
   */
  readonly operations = new Map<object, TenantRole | undefined>();
  private expiryTimer?: NodeJS.Timeout;
  private untrack?: () => void;
  private closed = false;

  constructor(
    private readonly socket: { close(code: number, reason: string): void },
    readonly principal: Principal,
    readonly authorization: string,
    readonly clientIp: string | undefined,
  ) {}

  start(untrack: () => void, expiresAtSeconds: number) {
    this.untrack = untrack;
    // setTimeout holds at most ~24.8 days; access tokens live minutes.
    const ms = Math.min(2 ** 31 - 1, Math.max(0, expiresAtSeconds * 1000 - Date.now()));
    this.expiryTimer = setTimeout(() => this.close('access token expired'), ms);
  }

  /** The standing changed (PrincipalWatch): close when it ended or no longer covers a running subscription. */
  onStanding(standing: Standing) {
    const refused = this.refusal(standing);
    if (refused) this.close(refused);
  }

  /** Why this socket may not deliver (to a subscription needing `need`, or any of its subscriptions), or null. */
  refusal(standing: Standing, need?: TenantRole): string | null {
    if (!standing.ok) return standing.reason;
    const needs = need ? [need] : [...this.operations.values()].filter((r): r is TenantRole => r !== undefined);
    const missing = needs.find((r) => ROLE_RANK[standing.role] < ROLE_RANK[r]);
    return missing ? `role no longer allows a ${missing} subscription` : null;
  }

  close(reason: string) {
    if (this.closed) return;
    this.dispose();
    this.socket.close(CLOSE_FORBIDDEN, `Forbidden: ${reason}`.slice(0, 120));
  }

  dispose() {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    this.untrack?.();
  }
}

/** When the key expires, in seconds since the epoch (never: far in the future). */
async function apiKeyExpiry(context: Context, keyId: string): Promise<number> {
  const [row] = await context.scope!.read((tx) => tx.select({ expiresAt: apiKeys.expiresAt }).from(apiKeys).where(eq(apiKeys.id, keyId)));
  return row?.expiresAt ? Math.floor(row.expiresAt.getTime() / 1000) : Number.MAX_SAFE_INTEGER;
}

/** Serves graphql-ws on `wsServer` (created with maxPayload: LIMITS.bodyLimit). Returns its disposer. */
export function serveGraphQLOverWebSocket(app: App, schema: GraphQLSchema, protections: OperationProtections, wsServer: WebSocketServer) {
  const maxOperations = app.config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET;
  const rules = [...specifiedRules, ...protections.validationRules];
  // Every error sent, before execution or in an event, through the one error pipeline (as Apollo's formatError over HTTP).
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatGraphQLError(e.toJSON(), e, app.log));
  const served = useServer<Record<string, unknown>, Extra>(
    {
      schema,
      // Authenticate at connection: no token, a bad one, or a user not in good standing closes the socket (4403).
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        if (typeof authorization !== 'string') return false;
        const clientIp = ctx.extra.request.socket.remoteAddress;
        try {
          const context = await createContext(app, { authorization, transactions: 'short', clientIp });
          const viewer = await context.viewer();
          const claims = context.claims;
          if (viewer.kind !== 'user' || claims?.kind !== 'user') return false;
          const principal: Principal = { tenantId: viewer.tenantId, userId: viewer.userId, ...(claims.sessionId ? { sessionId: claims.sessionId } : {}), ...(claims.apiKey ? { apiKey: true } : {}) };
          const live = new LiveSocket(ctx.extra.socket, principal, authorization, clientIp);
          const tracked = await app.principals.track(principal, (s) => live.onStanding(s));
          // An API key's socket closes at the key's own expiry (its revocation arrives as a principal change).
          live.start(tracked.untrack, claims.apiKey ? await apiKeyExpiry(context, claims.apiKey.id) : claims.exp);
          if (!tracked.standing.ok || ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) {
            live.dispose();
            return false;
          }
          ctx.extra.live = live;
          return true;
        } catch {
          return false;
        }
      },
      // Everything before execution, here rather than in graphql-ws: its own parse has no token limit and
      // a syntax error thrown from it closes the whole socket (4500). A refusal is an `error` message for
      // this id only, with the code HTTP gives; the socket and its other operations carry on.
      onSubscribe: (ctx, _id, payload) => {
        const live = ctx.extra.live!;
        // Counted here (synchronously, so a burst can't slip past) until it has really ended (onComplete:
        // a query or mutation its client completed early still runs), or for a subscription until it was
        // asked to stop (guard: it sends nothing more).
        if (live.operations.size >= maxOperations) {
          return [asWsError(new AppError('TOO_MANY_SUBSCRIPTIONS', `At most ${maxOperations} operations may run at once on one socket; complete one first`))];
        }
        const prepared = prepareOperation(schema, rules, protections, payload);
        if (!Array.isArray(prepared)) live.operations.set(payload, undefined);
        return prepared;
      },
      // A fresh context per operation, like an HTTP request: the token and the user's standing are checked again.
      context: async (ctx) => {
        const live = ctx.extra.live!;
        try {
          return await createContext(app, { authorization: live.authorization, transactions: 'short', clientIp: live.clientIp });
        } catch {
          // Only an expired token fails here (it verified at connect): the timer closes the socket at exp; don't wait for it.
          live.close('access token expired');
          return createContext(app, { transactions: 'short', clientIp: live.clientIp });
        }
      },
      // Subscriptions: remember what each needs, and check every event against the current standing.
      onOperation: (ctx, _id, payload, args, result) => {
        const live = ctx.extra.live;
        if (!live || !isAsyncGenerator(result)) return;
        const need = requiredRole(args.document, args.operationName);
        live.operations.set(payload, need);
        return guard(
          result,
          async () => {
            const refused = live.refusal(await app.principals.standing(live.principal), need);
            if (refused) live.close(refused);
            return !refused;
          },
          () => live.operations.delete(payload),
        );
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onComplete: (ctx, _id, payload) => void ctx.extra.live?.operations.delete(payload),
      onClose: (ctx) => ctx.extra.live?.dispose(),
    },
    wsServer,
  );
  // ws emits 'error' on a socket for what the client did wrong (a message over maxPayload: 1009, bad
  // UTF-8: 1007, a protocol violation: 1002), after closing it with that code. graphql-ws's listener
  // (added just before this one) prints each to stderr as an internal error: log it as the client's.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (err: Error & { code?: string }) => app.log.info({ code: err.code, reason: err.message }, 'WebSocket closed: the client broke the protocol'));
  });
  return served;
}

/**
 * What Apollo does before executing an HTTP request, in its order and with its codes: parse (with
 * the token limit), validate (graphql's rules and armor's), our refusals (protections.ts), resolve
 * the operation, coerce the variables. Returns graphql-ws's execution arguments, or the errors.
 */
function prepareOperation(schema: GraphQLSchema, rules: readonly ValidationRule[], protections: OperationProtections, payload: SubscribePayload): ExecutionArgs | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(payload.query, PARSE_OPTIONS);
  } catch (err) {
    return [withCode(err as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
  }
  const invalid = validate(schema, document, rules);
  if (invalid.length) return invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
  const variables = payload.variables ?? {};
  const refused = protections.refusal(document, variables);
  if (refused) return [asWsError(refused)];
  const operationName = payload.operationName ?? undefined;
  const operation = getOperationAST(document, operationName);
  if (!operation) return [asWsError(new AppError('OPERATION_RESOLUTION_FAILURE', unresolvedOperation(document, operationName)))];
  // graphql-js coerces again when it executes (cheap); here a bad value is refused as HTTP refuses it.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
  if (coerced.errors) return coerced.errors.map((e) => withCode(e, 'BAD_USER_INPUT'));
  return { schema, document, operationName, variableValues: variables };
}

/** graphql-js's own words when execute() can't pick the operation (what HTTP answers). */
function unresolvedOperation(document: DocumentNode, operationName: string | undefined): string {
  if (operationName !== undefined) return `Unknown operation named "${operationName}".`;
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
  return operations > 1 ? 'Must provide operation name if query contains multiple operations.' : 'Must provide an operation.';
}

/**
 * The error as graphql-ws's GraphQLError, with `code` (as Apollo's error classes add it); an
 * AppError behind it (a scalar's or a rule's refusal) keeps its own code in formatGraphQLError.
 */
function withCode(e: GraphQLError, code: ErrorCodeName): GraphQLError {
  return new WsGraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: e.originalError ?? e, extensions: { ...e.extensions, code } });
}

const asWsError = (e: AppError): GraphQLError => withCode(e, e.code);

/** The highest role the subscription's root fields need (SUBSCRIPTION_ROLES; the permission map enforced it at start). */
function requiredRole(document: DocumentNode, operationName: string | null | undefined): TenantRole {
  const op = getOperationAST(document, operationName);
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  const names = new Set<string>();
  const walk = (set: SelectionSetNode, seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) names.add(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet, seen);
      else if (!seen.has(sel.name.value) && fragments.has(sel.name.value)) walk(fragments.get(sel.name.value)!, new Set([...seen, sel.name.value]));
    }
  };
  if (op) walk(op.selectionSet, new Set());
  let need: TenantRole = 'VIEWER';
  for (const n of names) {
    const r = (SUBSCRIPTION_ROLES as Record<string, TenantRole>)[n];
    if (r && ROLE_RANK[r] > ROLE_RANK[need]) need = r;
  }
  return need;
}

/**
 * The subscription's events, each released only when `allowed()` says so; a refusal ends the stream.
 * `stopped` runs when it is asked to stop (its client completed it, or the socket closed): it sends
 * nothing more from then on, though its source may still be waiting for its next event.
 */
function guard(source: AsyncGenerator<ExecutionResult>, allowed: () => Promise<boolean>, stopped: () => void): AsyncGenerator<ExecutionResult> {
  const it: AsyncGenerator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      if (r.done) return r;
      if (await allowed()) return r;
      await source.return(undefined);
      return { done: true, value: undefined };
    },
    return: (v) => {
      stopped();
      return source.return(v);
    },
    throw: (e) => source.throw(e),
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

function isAsyncGenerator(v: unknown): v is AsyncGenerator<ExecutionResult> {
  return typeof v === 'object' && v !== null && typeof (v as AsyncGenerator).next === 'function' && typeof (v as AsyncGenerator).return === 'function' && Symbol.asyncIterator in v;
}
