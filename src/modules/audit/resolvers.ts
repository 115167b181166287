import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as audit from './service.js';

export const auditResolvers: Resolvers = {
  Query: {
    auditLogs: (_, args, ctx) => audit.listAuditLogs(ctx.scope!, args),
    auditIntegrity: (_, args, ctx) => audit.verifyIntegrity(ctx.scope!, args),
  },
  AuditLog: {
    id: (row) => String(row.seq),
    changes: (row) => row.changes,
  },
  AuditLogConnection: {
    edges: (page) => page.rows.map((node) => ({ cursor: audit.encodeSeqCursor(node.seq), node })),
    pageInfo: (page) => {
      const first = page.rows[0];
      const last = page.rows[page.rows.length - 1];
      return {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: false,
        startCursor: first ? audit.encodeSeqCursor(first.seq) : null,
        endCursor: last ? audit.encodeSeqCursor(last.seq) : null,
      };
    },
  },
};
