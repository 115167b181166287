import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, visit, type DocumentNode, type GraphQLSchema, type SelectionSetNode, type ValidationRule } from 'graphql';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { MAX_PAGE_SIZE } from '../db/pagination.js';
import { AppError, badInput, type FieldError } from '../errors.js';
import { checkOperationInput } from '../graphql/input-check.js';

/**
 * Operation limits, chosen far above what a real frontend sends (see docs/limits.md for the
 * reasoning) and far below what the classic attacks need.
 */
export const LIMITS = {
  /** Nesting of selections. Our deepest useful query (users → memberships → organization → members → user) is 7. */
  maxDepth: 12,
  /** Aliased fields per operation (excluding __typename). */
  maxAliases: 20,
  /** Directives per operation (@include/@skip). */
  maxDirectives: 20,
  /** Lexical tokens in the document (Apollo Client's largest generated queries are a few hundred). */
  maxTokens: 5000,
  /** armor's cost: objects 2, scalars 1, ×1.5 per level, × first/last. users(first: 100) with nested organizations ≈ 2,800. */
  maxCost: 10_000,
  /** Request body (JSON) in bytes; over WebSocket, the largest message (ws's maxPayload). */
  bodyLimit: 256 * 1024,
} as const;

/** graphql's parser limit, for Apollo (HTTP) and graphql-ws alike: parsing stops at the limit, with a syntax error. */
export const PARSE_OPTIONS = { maxTokens: LIMITS.maxTokens } as const;

export interface OperationProtections {
  /** For Apollo (HTTP). */
  plugins: ApolloServerPlugin[];
  /** Armor's rules (depth, aliases, directives, cost), for every transport's validate(). */
  validationRules: ValidationRule[];
  /**
   * Why an operation that parsed and validated is refused before it runs (BAD_USER_INPUT), or
   * undefined: page sizes, the cost with variables inlined, the edge check of input values.
   * HTTP runs it in didResolveOperation, graphql-ws in onSubscribe.
   */
  refusal(document: DocumentNode, variables: Record<string, unknown>): AppError | undefined;
}

/** Refusals of the operation itself: BAD_USER_INPUT, a 400 (server.ts's status plugin) before anything runs. */
function reject(message: string, fields?: FieldError[]): AppError {
  return fields ? badInput(fields) : new AppError('BAD_USER_INPUT', message);
}

/**
 * graphql-armor's Apollo protections (depth, aliases, directives, tokens, cost) plus ours, before
 * anything executes: `first`/`last` are checked against 1–100 from variables too, the cost is
 * computed with variables inlined (armor's cost rule only sees literal `first: 100`, not
 * `first: $n`), every input value passes the edge check (graphql/input-check.ts), and a
 * subscription sent over HTTP is refused.
 * Field suggestions follow Apollo's `hideSchemaDetailsFromClientErrors` (off in production).
 */
export function operationProtections(schema: GraphQLSchema): OperationProtections {
  const armor = new ApolloArmor({
    blockFieldSuggestion: { enabled: false }, // Apollo's hideSchemaDetailsFromClientErrors does it, in production only
    maxDepth: { n: LIMITS.maxDepth },
    maxAliases: { n: LIMITS.maxAliases },
    maxDirectives: { n: LIMITS.maxDirectives },
    // armor's token plugin throws from parsingDidStart, which Apollo 5 answers with a 500; graphql's own
    // parser limit (parseOptions.maxTokens, see server.ts) answers GRAPHQL_PARSE_FAILED with a 400.
    maxTokens: { enabled: false },
    costLimit: { maxCost: LIMITS.maxCost },
  });
  const protection = armor.protect();
  const costWithVariables = costLimitRule({ maxCost: LIMITS.maxCost, propagateOnRejection: false, onReject: [(ctx, err) => ctx?.reportError(err)] });
  type Refusal = { message: string; fields?: FieldError[] } | null;
  /** Why a document sent without variables is refused (or null): a function of the document alone. */
  const withoutVariables = new WeakMap<DocumentNode, Refusal>();
  /** The nesting of unpaged lists is the document's alone: walked once per document, not per request. */
  const nestingOf = new WeakMap<DocumentNode, FieldError | null>();
  const check = (document: DocumentNode, variables: Record<string, unknown>): Refusal => {
    const { inlined, problems } = inlinePageArguments(document, variables);
    let nested = nestingOf.get(document);
    if (nested === undefined) nestingOf.set(document, (nested = nestedUnpagedList(document) ?? null));
    if (nested) problems.push(nested);
    problems.push(...checkOperationInput(schema, document, variables));
    if (problems.length) return { message: problems.map((p) => `${p.field}: ${p.message}`).join('; '), fields: problems };
    if (inlined !== document) {
      const error = costOf(inlined, costWithVariables);
      if (error) return { message: error.message.replace(/^Syntax Error: /, '') };
    }
    return null;
  };
  const refusal = (document: DocumentNode, variables: Record<string, unknown>): AppError | undefined => {
    // Apollo hands the same parsed document for the same query text (its document cache), so a
    // query without variables is checked once, not on every request (the walks cost ~2 % of a
    // small request). Held weakly: it goes when Apollo's cache lets the document go.
    let found: Refusal | undefined;
    if (Object.keys(variables).length === 0) {
      found = withoutVariables.get(document);
      if (found === undefined) withoutVariables.set(document, (found = check(document, variables)));
    } else {
      found = check(document, variables);
    }
    return found ? reject(found.message, found.fields) : undefined;
  };
  const pageArguments: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, operation }) {
          // graphql-ws serves subscriptions; over HTTP, graphql-js would fail on the event stream (a 500).
          if (operation?.operation === 'subscription') throw new AppError('BAD_REQUEST', 'Subscriptions are served over WebSocket (graphql-ws) at /graphql, not over HTTP');
          const refused = refusal(document, request.variables ?? {});
          if (refused) throw refused;
        },
      };
    },
  };
  // armor types its plugins against the CommonJS build of @apollo/server; the shape is the same.
  return { plugins: [...(protection.plugins as unknown as ApolloServerPlugin[]), pageArguments], validationRules: protection.validationRules, refusal };
}

/**
 * Runs armor's cost visitor over each operation. It needs only fragments and an error sink from the
 * validation context, so no schema is involved (graphql's validate() would reject our schema here:
 * it is built by the CommonJS copy of graphql, this module imports the ESM one).
 */
function costOf(document: DocumentNode, rule: ValidationRule): GraphQLError | undefined {
  let error: GraphQLError | undefined;
  const fragments = new Map(document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const context = { getFragment: (name: string) => fragments.get(name), reportError: (e: GraphQLError) => void (error ??= e) };
  for (const op of document.definitions) {
    if (op.kind !== Kind.OPERATION_DEFINITION) continue;
    const visitor = rule(context as never) as unknown as { OperationDefinition: { enter(node: unknown): void } };
    visitor.OperationDefinition.enter(op);
  }
  return error;
}

/**
 * Bulk mutations' item lists (src/modules/bulk.ts): the cost counts the items, as armor counts a
 * page's `first`: the field's selection cost is multiplied by ⌈items / 5⌉, so the 500 items of a
 * full call weigh as a page of 100 rows (an item's result is a row; its write is bounded by the
 * call's constant statements). A full call with a plain selection passes; with nested lists per
 * item it is over the limit, as a page of 100 with nested lists is.
 */
const BULK_ITEM_ARGUMENTS: Record<string, string> = { createUsers: 'inputs', updateUsers: 'inputs', addOrganizationMembers: 'members' };
const ITEMS_PER_ROW_OF_COST = 5;

/**
 * Lists without pages, counted by the cost as a full page (armor counts a list without `first` as
 * one object): `Organization.members` is every member of an organization, hundreds or thousands.
 * Counted as one, `members { user { memberships { organization { members … } } } }` passed at any
 * size: a million objects and a process out of memory. (A user's organizations and memberships are
 * few; they stay counted as one, so `users(first: 100) { organizations { … } }` stays within.)
 */
const UNPAGED_LISTS: Record<string, number> = { members: 10 };

/**
 * An unpaged list inside another (members of organizations of members…) multiplies sizes no estimate
 * knows: refused outright, through fragments too. One level, with pages around it, is the cost's to weigh.
 */
function nestedUnpagedList(document: DocumentNode): FieldError | undefined {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  const walk = (set: SelectionSetNode, inside: string | undefined, seen: ReadonlySet<string>): FieldError | undefined => {
    for (const sel of set.selections) {
      let found: FieldError | undefined;
      if (sel.kind === Kind.FIELD) {
        const unpaged = sel.name.value in UNPAGED_LISTS;
        if (unpaged && inside) return { field: sel.name.value, message: `An unpaged list (${sel.name.value}) may not be selected inside another (${inside}): query it by its own root field` };
        if (sel.selectionSet) found = walk(sel.selectionSet, unpaged ? sel.name.value : inside, seen);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) found = walk(sel.selectionSet, inside, seen);
      else if (!seen.has(sel.name.value) && fragments.has(sel.name.value)) found = walk(fragments.get(sel.name.value)!, inside, new Set([...seen, sel.name.value]));
      if (found) return found;
    }
    return undefined;
  };
  for (const d of document.definitions) {
    const found = d.kind === Kind.OPERATION_DEFINITION ? walk(d.selectionSet, undefined, new Set()) : undefined;
    if (found) return found;
  }
  return undefined;
}

/**
 * Replaces `first: $var` / `last: $var` with the variable's value (so the cost rule counts it) and
 * reports any page size above the cap, literal or variable, before anything executes.
 */
function inlinePageArguments(document: DocumentNode, variables: Record<string, unknown>): { inlined: DocumentNode; problems: FieldError[] } {
  const problems: FieldError[] = [];
  const inlined = visit(document, {
    Argument(node) {
      if (node.name.value !== 'first' && node.name.value !== 'last') return undefined;
      const value = node.value.kind === Kind.VARIABLE ? variables[node.value.name.value] : node.value.kind === Kind.INT ? Number(node.value.value) : undefined;
      if (typeof value === 'number' && (value < 1 || value > MAX_PAGE_SIZE)) problems.push({ field: node.name.value, message: `Must be between 1 and ${MAX_PAGE_SIZE}` });
      if (node.value.kind === Kind.VARIABLE && typeof value === 'number' && Number.isInteger(value)) {
        return { ...node, value: { kind: Kind.INT, value: String(value) } };
      }
      return undefined;
    },
    Field: {
      // On leave: the `first` added here (bulk items, unpaged lists) is for the cost rule only, not a page size to check above.
      leave(node) {
        const unpaged = UNPAGED_LISTS[node.name.value];
        if (unpaged) return { ...node, arguments: [...(node.arguments ?? []), { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'first' }, value: { kind: Kind.INT, value: String(unpaged) } }] };
        const argName = BULK_ITEM_ARGUMENTS[node.name.value];
        const arg = argName ? node.arguments?.find((a) => a.name.value === argName) : undefined;
        if (!arg) return undefined;
        const list = arg.value.kind === Kind.VARIABLE ? variables[arg.value.name.value] : arg.value.kind === Kind.LIST ? arg.value.values : undefined;
        const items = Array.isArray(list) ? list.length : 1;
        const weight = Math.max(1, Math.ceil(items / ITEMS_PER_ROW_OF_COST));
        return { ...node, arguments: [...(node.arguments ?? []), { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'first' }, value: { kind: Kind.INT, value: String(weight) } }] };
      },
    },
  });
  return { inlined, problems };
}
