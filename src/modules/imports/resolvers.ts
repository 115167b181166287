import { z } from 'zod';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import type { ImportProgressEvent, RealtimeEvent } from '../../realtime/pubsub.js';
import { validate } from '../../validation.js';
import * as imports from './service.js';

const idInput = z.object({ id: z.string().uuid() });

export const importResolvers: Resolvers = {
  Query: {
    importJob: (_, { id }, ctx) => imports.getImportJob(ctx.scope!, id),
  },
  Subscription: {
    importJobProgress: {
      // The tenant from the verified connection; each event names only ids: the job is read anew (under RLS).
      subscribe: async (_, args, ctx) => {
        const { id } = validate(idInput, args);
        const { tenantId } = await ctx.actor();
        const current = await imports.requireImportJob(ctx.scope!, id);
        const events = ctx.app.pubsub.subscribe(
          (e: RealtimeEvent): e is ImportProgressEvent => e.topic === 'import_job_progress' && e.tenantId === tenantId && e.importJobId === id,
          () => null,
        );
        const scope = ctx.scope!;
        async function* progress() {
          yield { importJobProgress: current };
          if (current.status === 'SUCCEEDED' || current.status === 'FAILED') return;
          try {
            for await (const _ of events) {
              const job = await imports.requireImportJob(scope, id);
              yield { importJobProgress: job };
              if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return;
            }
          } finally {
            await events.return?.();
          }
        }
        return progress();
      },
    },
  },
  ImportJob: {
    errors: (job, { first, afterRow }, ctx) => imports.listImportErrors(ctx.scope!, job.id, first ?? 100, afterRow ?? 0),
  },
  ImportRowError: {
    row: (e) => e.rowNumber,
    fields: (e) => (e.fields as { field: string; message: string }[] | null) ?? null,
  },
};
