import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import type { Context } from '../../graphql/context.js';
import { checkPlatformOperator, login, logout, refreshSession, validatePlatformLogin, type SessionDeps } from '../../auth/session-service.js';
import { unauthenticated } from '../../errors.js';

const deps = (ctx: Context): SessionDeps => ({ db: ctx.app.db, tokens: ctx.app.tokens, refreshTtlDays: ctx.app.config.REFRESH_TOKEN_TTL_DAYS, tenantBaseDomain: ctx.app.config.TENANT_BASE_DOMAIN });

export const authResolvers: Resolvers = {
  Mutation: {
    login: (_, { input }, ctx) => login(deps(ctx), input, ctx.request, ctx.address),
    refreshSession: (_, { refreshToken }, ctx) => refreshSession(deps(ctx), refreshToken, ctx.request),
    logout: (_, { refreshToken }, ctx) => logout(deps(ctx), refreshToken, ctx.request),
    platformLogin: async (_, args, ctx) => {
      const { email, password } = validatePlatformLogin(args);
      if (!checkPlatformOperator(ctx.app.platformOperator, email, password)) throw unauthenticated('Invalid operator credentials');
      const { token, expiresAt } = await ctx.app.tokens.signPlatformToken(`operator:${email.toLowerCase()}`);
      return { accessToken: token, accessTokenExpiresAt: expiresAt };
    },
  },
};
