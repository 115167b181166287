import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import type { HealthChangedEvent, RealtimeEvent } from '../../realtime/pubsub.js';
import { validate } from '../../validation.js';
import { z } from 'zod';
import * as health from './service.js';

const optionalId = z.object({ integrationId: z.string().uuid('Not a UUID').nullish() });

export const integrationHealthResolvers: Resolvers = {
  Query: {
    integrationHealth: (_, { integrationId }, ctx) => health.getIntegrationHealth(ctx.scope!, integrationId),
    integrationHealthHistory: (_, { integrationId, first }, ctx) => health.listHealthChanges(ctx.scope!, integrationId, first),
    tenantHealthSummary: (_, __, ctx) => health.tenantHealthSummary(ctx.scope!),
    integrationCircuit: (_, { integrationId }, ctx) => health.getCircuit(ctx.scope!, integrationId),
  },
  Mutation: {
    resetIntegrationCircuit: (_, { integrationId }, ctx) => health.resetCircuit(ctx.scope!, ctx.app.processId, integrationId),
    isolateIntegrationCircuit: (_, { integrationId, reason }, ctx) => health.isolateCircuit(ctx.scope!, ctx.app.processId, integrationId, reason),
  },
  Subscription: {
    integrationHealthChanged: {
      // The tenant comes from the verified connection, never from arguments: other tenants' events are filtered out here.
      // No `resolve` here on purpose: graphql-middleware wraps only `resolve` when a field has both,
      // which would leave `subscribe` outside the permission map.
      subscribe: async (_, args, ctx) => {
        const { integrationId } = validate(optionalId, args);
        const { tenantId } = await ctx.actor();
        return ctx.app.pubsub.subscribe(
          (e: RealtimeEvent): e is HealthChangedEvent =>
            e.topic === 'integration_health_changed' && e.tenantId === tenantId && (!integrationId || e.integrationId === integrationId),
          (e) => ({ integrationHealthChanged: health.healthChangeFromEvent(e) }),
        );
      },
    },
  },
};
