import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import * as webhooks from './service.js';

export const webhookResolvers: Resolvers = {
  Query: {
    webhookEvents: (_, args, ctx) => webhooks.listWebhookEvents(ctx.scope!, args),
    webhookEvent: (_, { id }, ctx) => webhooks.getWebhookEvent(ctx.scope!, id),
  },
  Mutation: {
    replayWebhookEvent: (_, { id }, ctx) => webhooks.replayWebhookEvent(ctx.app, ctx.scope!, id),
    replayWebhookEvents: (_, { filter, limit }, ctx) => webhooks.replayWebhookEvents(ctx.app, ctx.scope!, { filter, limit: limit ?? 1000 }),
  },
  WebhookEvent: {
    integration: (e, _, ctx) => ctx.loaders.integrationById.load(e.integrationId),
  },
  WebhookEventConnection: connectionResolvers<webhooks.WebhookEventView>(),
};
