import { setTimeout as sleep } from 'node:timers/promises';
import type { Resolvers } from './generated/resolvers-types.js';
import { badInput } from '../errors.js';

export const heartbeatResolvers: Resolvers = {
  Subscription: {
    heartbeat: {
      subscribe: async function* (_, { intervalSeconds }) {
        const seconds = intervalSeconds ?? 10;
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) throw badInput([{ field: 'intervalSeconds', message: 'Must be between 1 and 60' }]);
        for (;;) {
          yield { heartbeat: new Date() };
          await sleep(seconds * 1000);
        }
      },
    },
  },
};
