import type { OrganizationRow, UserRow } from '../db/schema.js';
import { encodeCursor, type CursorKey, type Page } from '../db/pagination.js';

/** Relay connections over the keyset pages of src/db/pagination.ts. */
export type UserConnectionResult = Page<UserRow>;
export type OrganizationConnectionResult = Page<OrganizationRow>;

/** An edge; its cursor is made only if the client asks for it. */
class Edge<T extends CursorKey> {
  constructor(readonly node: T) {}
  get cursor(): string {
    return encodeCursor(this.node);
  }
}

/** Field resolvers shared by every connection type. */
export function connectionResolvers<T extends CursorKey>() {
  return {
    edges: (page: Page<T>) => page.rows.map((node) => new Edge(node)),
    pageInfo: (page: Page<T>) => {
      const first = page.rows[0];
      const last = page.rows[page.rows.length - 1];
      return {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: false,
        startCursor: first ? encodeCursor(first) : null,
        endCursor: last ? encodeCursor(last) : null,
      };
    },
    totalCount: (page: Page<T>) => page.countTotal(),
  };
}
