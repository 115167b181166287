import { Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode, type ValueNode } from 'graphql';
import type { FieldError } from '../errors.js';
import { dateProblem, textProblem, unstorableText } from '../validation.js';

/**
 * The edge check of every operation's input, before anything runs (HTTP: an Apollo plugin; WebSocket:
 * graphql-ws onSubscribe). It walks every argument of every field — literals and variables, nested
 * input objects and lists, every scalar (String, ID, UUID, EmailAddress, JSON…) — and reports, with
 * the argument's path (`filter.search`, `input.name`, `ids[2]`):
 *  - text Postgres can't store (NUL, lone surrogates; JSON values' strings and keys too);
 *  - a variable value its scalar or enum refuses (graphql-js would refuse it too, but without naming
 *    the argument);
 *  - date-times outside years 1–9999;
 *  - values nested more than 100 levels deep.
 * Types are read by their `Symbol.toStringTag`, not `instanceof`: the schema may come from another
 * copy of graphql-js (see protections.ts).
 */
export function checkOperationInput(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> = {}): FieldError[] {
  const problems: FieldError[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const walked = new Set<string>();
  const add = (field: string, message: string) => void (problems.length < 20 && problems.push({ field, message }));

  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = d.operation === 'query' ? schema.getQueryType() : d.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    walkSelections(d.selectionSet, root);
  }
  return problems;

  function walkSelections(set: SelectionSetNode, parent: unknown): void {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const def = fieldsOf(parent)?.[sel.name.value] as { type: unknown; args: { name: string; type: unknown }[] } | undefined;
        for (const arg of sel.arguments ?? []) checkLiteral(arg.value, def?.args.find((a) => a.name === arg.name.value)?.type, arg.name.value, 0);
        if (sel.selectionSet) walkSelections(sel.selectionSet, def ? namedType(def.type) : undefined);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walkSelections(sel.selectionSet, sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent);
      } else {
        const fragment = fragments.get(sel.name.value);
        if (!fragment || walked.has(fragment.name.value)) continue; // cycles are refused by validation
        walked.add(fragment.name.value);
        walkSelections(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value));
      }
    }
  }

  /** A value written in the query text (already checked against its type by validation). */
  function checkLiteral(node: ValueNode, type: unknown, path: string, depth: number): void {
    if (depth > 100) return add(path, 'Nested more than 100 levels deep');
    const t = nullable(type);
    switch (node.kind) {
      case Kind.VARIABLE:
        return checkValue(variables[node.name.value], type, path, depth);
      case Kind.STRING: {
        const problem = textProblem(node.value);
        if (problem) return add(path, problem);
        if (tag(t) === 'GraphQLScalarType') {
          let parsed: unknown;
          try {
            parsed = (t as { parseLiteral(n: ValueNode): unknown }).parseLiteral(node);
          } catch {
            return; // validation reports it
          }
          if (parsed instanceof Date && dateProblem(parsed)) add(path, dateProblem(parsed)!);
        }
        return;
      }
      case Kind.LIST:
        return node.values.forEach((v, i) => checkLiteral(v, tag(t) === 'GraphQLList' ? (t as { ofType: unknown }).ofType : t, `${path}[${i}]`, depth + 1));
      case Kind.OBJECT:
        for (const f of node.fields) checkLiteral(f.value, inputFieldsOf(t)?.[f.name.value]?.type, `${path}.${f.name.value}`, depth + 1);
        return;
      default:
        return;
    }
  }

  /** A value from the variables (plain JSON, not yet coerced). */
  function checkValue(value: unknown, type: unknown, path: string, depth: number): void {
    if (value === null || value === undefined) return;
    if (depth > 100) return add(path, 'Nested more than 100 levels deep');
    const t = nullable(type);
    const kind = tag(t);
    if (kind === 'GraphQLList') {
      const item = (t as { ofType: unknown }).ofType;
      if (Array.isArray(value)) value.forEach((v, i) => checkValue(v, item, `${path}[${i}]`, depth + 1));
      else checkValue(value, item, path, depth); // graphql-js coerces a single value to a list of one
      return;
    }
    if (kind === 'GraphQLInputObjectType' && value && typeof value === 'object' && !Array.isArray(value)) {
      const fields = inputFieldsOf(t)!;
      for (const [key, v] of Object.entries(value)) {
        const keyProblem = textProblem(key);
        if (keyProblem) add(`${path}.${JSON.stringify(key).slice(1, -1)}`, `Key: ${keyProblem}`);
        else checkValue(v, fields[key]?.type, `${path}.${key}`, depth + 1);
      }
      return;
    }
    // Leaves (and values of the wrong shape, which coercion refuses): text first, then the type's own parser.
    const text = unstorableText(value, path);
    if (text.length) return void text.forEach((p) => add(p.field, p.message));
    if (kind === 'GraphQLScalarType' || kind === 'GraphQLEnumType') {
      let parsed: unknown;
      try {
        parsed = (t as { parseValue(v: unknown): unknown }).parseValue(value);
      } catch (err) {
        return add(path, (err as Error).message);
      }
      if (kind === 'GraphQLEnumType' && parsed === undefined) return add(path, `Not a ${(t as { name: string }).name} value`);
      if (parsed instanceof Date && dateProblem(parsed)) add(path, dateProblem(parsed)!);
    }
  }
}

const tag = (x: unknown): string => Object.prototype.toString.call(x).slice(8, -1);
const nullable = (t: unknown): unknown => (tag(t) === 'GraphQLNonNull' ? (t as { ofType: unknown }).ofType : t);
function namedType(t: unknown): unknown {
  while (tag(t) === 'GraphQLNonNull' || tag(t) === 'GraphQLList') t = (t as { ofType: unknown }).ofType;
  return t;
}
function fieldsOf(t: unknown): Record<string, unknown> | undefined {
  return tag(t) === 'GraphQLObjectType' || tag(t) === 'GraphQLInterfaceType' ? (t as { getFields(): Record<string, unknown> }).getFields() : undefined;
}
function inputFieldsOf(t: unknown): Record<string, { type: unknown }> | undefined {
  return tag(t) === 'GraphQLInputObjectType' ? (t as { getFields(): Record<string, { type: unknown }> }).getFields() : undefined;
}
