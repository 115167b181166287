import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as integrations from './service.js';

export const integrationResolvers: Resolvers = {
  Query: {
    integrations: (_, __, ctx) => integrations.listIntegrations(ctx.scope!),
    integration: (_, { id }, ctx) => integrations.getIntegration(ctx.scope!, id),
  },
  Mutation: {
    createIntegration: (_, { input }, ctx) => integrations.createIntegration(ctx.scope!, ctx.app, input),
    updateIntegration: (_, { id, input }, ctx) => integrations.updateIntegration(ctx.scope!, ctx.app, id, input),
    deleteIntegration: (_, { id }, ctx) => integrations.deleteIntegration(ctx.scope!, id),
    rotateWebhookSecret: (_, { id, overlapHours }, ctx) =>
      integrations.rotateWebhookSecret(ctx.scope!, ctx.app.secrets, id, overlapHours ?? ctx.app.config.WEBHOOK_SECRET_OVERLAP_HOURS),
  },
  Integration: {
    webhookUrl: (i, _, ctx) => `${ctx.app.config.publicUrl}/webhooks/${i.id}`,
    health: (i, _, ctx) => ctx.loaders.healthByIntegrationId.load(i.id),
    healthHistory: (i, { first }, ctx) => ctx.loaders.healthChangesByIntegrationId.load({ id: i.id, args: { first: first ?? null } }),
    circuit: (i, _, ctx) => ctx.loaders.circuitByIntegrationId.load(i.id),
  },
};
