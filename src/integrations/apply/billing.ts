/**
 * Subscriptions and invoices mirrored from a payment-service integration, and the tenant's billing
 * flag derived from them. Each apply is one upsert whose WHERE is the conflict rule.
 */
import { and, count, eq, min, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { billingStatus, invoices, subscriptions } from '../../db/schema.js';
import { storedIsOlder, type ApplyOutcome, type ApplyTarget } from './conflict.js';
import type { ProviderInvoice, ProviderSubscription } from './records.js';

const SUBSCRIPTION_STATUS = { active: 'ACTIVE', past_due: 'PAST_DUE', canceled: 'CANCELED' } as const;
const INVOICE_STATUS = { paid: 'PAID', open: 'OPEN', failed: 'FAILED' } as const;

export async function applySubscription(tx: Tx, integration: ApplyTarget, record: ProviderSubscription): Promise<ApplyOutcome> {
  const values = {
    plan: record.plan,
    status: SUBSCRIPTION_STATUS[record.status],
    customerExternalId: record.customer_id ?? null,
    currentPeriodEnd: record.current_period_end ? new Date(record.current_period_end) : null,
    externalVersion: record.version,
    externalUpdatedAt: new Date(record.updated_at),
  };
  const [row] = await tx
    .insert(subscriptions)
    .values({ tenantId: integration.tenantId, integrationId: integration.id, externalId: record.id, ...values })
    .onConflictDoUpdate({
      target: [subscriptions.tenantId, subscriptions.integrationId, subscriptions.externalId],
      set: { ...values, updatedAt: new Date() },
      setWhere: storedIsOlder(subscriptions.externalVersion, subscriptions.externalUpdatedAt),
    })
    .returning({ inserted: sql<boolean>`(xmax = 0)` });
  if (!row) return 'unchanged';
  if (values.status === 'CANCELED') return 'deleted';
  return row.inserted ? 'created' : 'updated';
}

/** Applies an invoice, then re-derives the tenant's payment-failed flag when the invoice changed. */
export async function applyInvoice(tx: Tx, integration: ApplyTarget, record: ProviderInvoice): Promise<ApplyOutcome> {
  const values = {
    subscriptionExternalId: record.subscription_id ?? null,
    amountCents: record.amount_cents,
    currency: record.currency.toUpperCase(),
    status: INVOICE_STATUS[record.status],
    externalVersion: record.version,
    externalUpdatedAt: new Date(record.updated_at),
  };
  const [row] = await tx
    .insert(invoices)
    .values({ tenantId: integration.tenantId, integrationId: integration.id, externalId: record.id, ...values })
    .onConflictDoUpdate({
      target: [invoices.tenantId, invoices.integrationId, invoices.externalId],
      set: { ...values, updatedAt: new Date() },
      setWhere: storedIsOlder(invoices.externalVersion, invoices.externalUpdatedAt),
    })
    .returning({ inserted: sql<boolean>`(xmax = 0)` });
  if (!row) return 'unchanged';
  await refreshBillingStatus(tx, integration.tenantId);
  return row.inserted ? 'created' : 'updated';
}

/**
 * The flag is a function of the invoices (set while any is FAILED, since the earliest such failure),
 * not of the last event seen, so the order in which payment events arrive can't leave it wrong.
 */
export async function refreshBillingStatus(tx: Tx, tenantId: string): Promise<void> {
  const [failed] = await tx
    .select({ n: count(), since: min(invoices.externalUpdatedAt) })
    .from(invoices)
    .where(and(eq(invoices.status, 'FAILED')));
  const values = { paymentFailedAt: failed?.n ? (failed.since ?? new Date()) : null, failedInvoiceCount: failed?.n ?? 0, updatedAt: new Date() };
  await tx.insert(billingStatus).values({ tenantId, ...values }).onConflictDoUpdate({ target: billingStatus.tenantId, set: values });
}
