import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as sessions from './service.js';

/** The caller's own session: the access token's `sid`. */
const currentSession = (claims: { kind: string; sessionId?: string } | null) => (claims?.kind === 'user' ? claims.sessionId : undefined);

export const sessionResolvers: Resolvers = {
  Query: {
    mySessions: async (_, __, ctx) => sessions.mySessions(ctx.scope!, await ctx.actor(), currentSession(ctx.claims)),
  },
  Mutation: {
    revokeSession: async (_, { id }, ctx) => sessions.revokeSession(ctx.scope!, await ctx.actor(), id),
    revokeOtherSessions: async (_, __, ctx) => sessions.revokeOtherSessions(ctx.scope!, await ctx.actor(), currentSession(ctx.claims)),
    revokeUserSessions: async (_, { userId }, ctx) => sessions.revokeUserSessions(ctx.scope!, await ctx.actor(), userId),
  },
};
