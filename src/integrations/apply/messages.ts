/** The notification delivery log from a communication-service integration, linked to our user when we know them. */
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { notificationDeliveries, users } from '../../db/schema.js';
import { upsertIfNewer, upsertOutcome, type ApplyOutcome, type ApplyTarget } from './conflict.js';
import type { ProviderMessage } from './records.js';
import { applyDeliveryStatus } from '../communication/outbox.js';

const DELIVERY_STATUS = { sent: 'SENT', delivered: 'DELIVERED', bounced: 'BOUNCED', failed: 'FAILED' } as const;

/** One upsert: the user link is resolved in the same statement (by provider user id, else by email). */
export async function applyMessage(tx: Tx, integration: ApplyTarget, record: ProviderMessage): Promise<ApplyOutcome> {
  const userId = sql`(select ${users.id} from ${users}
    where (${users.externalId} = ${record.user_external_id ?? null}::text) or lower(${users.email}) = lower(${record.to_email})
    order by (${users.externalId} = ${record.user_external_id ?? null}::text) desc nulls last limit 1)`;
  const values = {
    userExternalId: record.user_external_id ?? null,
    toEmail: record.to_email,
    channel: record.channel,
    status: DELIVERY_STATUS[record.status],
    externalVersion: record.version,
    externalUpdatedAt: record.updated_at,
  };
  // A link once made is kept: a later record that names no known user does not unlink it.
  const written = await upsertIfNewer(tx, notificationDeliveries, integration, [{ externalId: record.id, values: { userId, ...values } }], {
    userId: sql`coalesce(${notificationDeliveries.userId}, excluded.user_id)`,
  });
  // A message we sent (an invitation, a reset…): its delivery status, linked by the provider's id.
  await applyDeliveryStatus(tx, integration.id, record);
  return upsertOutcome(written.get(record.id));
}
