import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Whether the client asked for the field at `path` under the field being resolved (through
 * fragments too): `selects(info, 'organizations')`, `selects(info, 'edges', 'node', 'organizations')`.
 * A hint for starting a child's read early, never a decision about what to show: directives are not
 * evaluated, so at worst a read is made that nobody uses.
 */
export function selects(info: GraphQLResolveInfo, ...path: string[]): boolean {
  const under = (set: SelectionSetNode | undefined, depth: number, seen: Set<string>): boolean =>
    set?.selections.some((sel) => {
      if (sel.kind === Kind.FIELD) return sel.name.value === path[depth] && (depth === path.length - 1 || under(sel.selectionSet, depth + 1, seen));
      if (sel.kind === Kind.INLINE_FRAGMENT) return under(sel.selectionSet, depth, seen);
      if (seen.has(sel.name.value)) return false; // (a fragment that spreads itself is refused by validation; this only guards the walk)
      return under(info.fragments[sel.name.value]?.selectionSet, depth, new Set(seen).add(sel.name.value));
    }) ?? false;
  return info.fieldNodes.some((node) => under(node.selectionSet, 0, new Set()));
}
