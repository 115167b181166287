import { buildEvent } from '../../src/mock-services/webhook-events.js';
import { sendWebhook } from '../../src/mock-services/send-webhooks.js';
import type { MockServices } from '../../src/mock-services/server.js';
import type { TestServer } from './server.js';
import { waitFor } from './wait.js';

export const SYNC_RUN_FIELDS = 'id integrationId mode status trigger requestedBy createdAt startedAt finishedAt created updated deleted unchanged failed error';

/** Job settings that make workers pick jobs up and retry quickly in tests. */
export const FAST_JOBS_ENV = {
  JOB_POLL_INTERVAL_SECONDS: '0.5',
  JOB_MAINTENANCE_INTERVAL_SECONDS: '1',
  PUSH_RETRY_LIMIT: '2',
  PUSH_RETRY_DELAY_SECONDS: '1',
};

export async function triggerSync(server: TestServer, token: string, integrationId: string, mode: 'INCREMENTAL' | 'FULL' = 'INCREMENTAL') {
  return server.gql(`mutation ($id: UUID!, $mode: SyncMode!) { triggerSync(integrationId: $id, mode: $mode) { joined run { ${SYNC_RUN_FIELDS} } } }`, { id: integrationId, mode }, { token });
}

export async function syncRun(server: TestServer, token: string, id: string) {
  const res = await server.gql(`query ($id: UUID!) { syncRun(id: $id) { ${SYNC_RUN_FIELDS} } }`, { id }, { token });
  return res.data?.syncRun ?? null;
}

/** Waits until the run has finished and returns it. */
export async function waitForRun(server: TestServer, token: string, id: string, timeoutMs = 20_000) {
  let run: any;
  await waitFor(
    async () => {
      run = await syncRun(server, token, id);
      return run?.status === 'SUCCEEDED' || run?.status === 'FAILED';
    },
    { timeoutMs, message: `sync run ${id} to finish` },
  );
  return run;
}

/** Triggers a sync and waits for it; fails the test if the request was refused. */
export async function syncNow(server: TestServer, token: string, integrationId: string, mode: 'INCREMENTAL' | 'FULL' = 'INCREMENTAL') {
  const res = await triggerSync(server, token, integrationId, mode);
  if (!res.data?.triggerSync) throw new Error(`triggerSync refused: ${JSON.stringify(res.errors)}`);
  return waitForRun(server, token, res.data.triggerSync.run.id);
}

/** The mock's REST API, as a provider client would call it. */
export function mockApi(mock: MockServices) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${mock.url}${path}`, {
      method,
      headers: { authorization: 'Bearer test-api-key', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json() as Promise<any>;
  };
  return {
    users: async (query = 'limit=1000'): Promise<any[]> => (await call('GET', `/user-service/users?${query}`)).data,
    user: (id: string) => call('GET', `/user-service/users/${id}`),
    createUser: (body: { email: string; name: string }) => call('POST', '/user-service/users', body),
    patchUser: (id: string, body: Record<string, unknown>) => call('PATCH', `/user-service/users/${id}`, body),
    deleteUser: (id: string) => call('DELETE', `/user-service/users/${id}`),
    touch: (collection: string, id: string) => call('POST', `/_control/${collection}/${id}/touch`),
    reset: (seedUsers: number) => call('POST', '/_control/reset', { seedUsers }),
  };
}

/** Sends one signed webhook about a user record, as the provider would. */
export function sendUserWebhook(server: TestServer, integrationId: string, secret: string, type: 'user.created' | 'user.updated' | 'user.deleted', data: Record<string, unknown>) {
  return sendWebhook(`${server.url}/webhooks/${integrationId}`, secret, buildEvent(type, data));
}

/** Waits until the stored webhook event has been processed (or is DEAD); returns its row. */
export async function waitForEvent(server: TestServer, eventId: string, timeoutMs = 10_000) {
  let row: any;
  await waitFor(
    async () => {
      [row] = await server.ownerSql`select status, outcome, attempts, last_error from webhook_events where id = ${eventId}`;
      return row?.status === 'PROCESSED' || row?.status === 'DEAD';
    },
    { timeoutMs, message: `webhook event ${eventId} to be processed` },
  );
  return row;
}
