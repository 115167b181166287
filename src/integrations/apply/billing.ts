/**
 * Subscriptions and invoices mirrored from a payment-service integration, and the tenant's billing
 * flag derived from them. Each apply is one upsert whose WHERE is the conflict rule.
 */
import { and, count, eq, min, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { billingStatus, invoices, subscriptions } from '../../db/schema.js';
import { storedIsOlder, type ApplyOutcome, type ApplyTarget } from './conflict.js';
import type { ProviderInvoice, ProviderSubscription } from './records.js';

const SUBSCRIPTION_STATUS = { active: 'ACTIVE', past_due: 'PAST_DUE', canceled: 'CANCELED' } as const;
const INVOICE_STATUS = { paid: 'PAID', open: 'OPEN', failed: 'FAILED' } as const;

const subscriptionValues = (record: ProviderSubscription) => ({
  plan: record.plan,
  status: SUBSCRIPTION_STATUS[record.status],
  customerExternalId: record.customer_id ?? null,
  currentPeriodEnd: record.current_period_end ? new Date(record.current_period_end) : null,
  externalVersion: record.version,
  externalUpdatedAt: new Date(record.updated_at),
});

const invoiceValues = (record: ProviderInvoice) => ({
  subscriptionExternalId: record.subscription_id ?? null,
  amountCents: record.amount_cents,
  currency: record.currency.toUpperCase(),
  status: INVOICE_STATUS[record.status],
  externalVersion: record.version,
  externalUpdatedAt: new Date(record.updated_at),
});

export async function applySubscription(tx: Tx, integration: ApplyTarget, record: ProviderSubscription): Promise<ApplyOutcome> {
  const values = subscriptionValues(record);
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
  const values = invoiceValues(record);
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

/** `excluded.<column>` for each mapped field: a multi-row upsert sets each row from its own values. */
const fromExcluded = <T extends Record<string, unknown>>(table: Record<string, unknown>, values: T) =>
  Object.fromEntries(Object.keys(values).map((k) => [k, sql.raw(`excluded.${(table[k] as { name: string }).name}`)])) as { [K in keyof T]: SQL };

/**
 * applySubscription for a page of records (sync): one multi-row upsert with the same WHERE (the
 * conflict rule); a row it did not return was not newer, so 'unchanged'. Outcomes in input order.
 * Added for sync by issue #5.
 */
export async function applySubscriptions(tx: Tx, integration: ApplyTarget, records: ProviderSubscription[]): Promise<ApplyOutcome[]> {
  if (records.length === 0) return [];
  const values = records.map(subscriptionValues);
  const rows = await tx
    .insert(subscriptions)
    .values(values.map((v, i) => ({ tenantId: integration.tenantId, integrationId: integration.id, externalId: records[i]!.id, ...v })))
    .onConflictDoUpdate({
      target: [subscriptions.tenantId, subscriptions.integrationId, subscriptions.externalId],
      set: { ...fromExcluded(subscriptions, values[0]!), updatedAt: new Date() },
      setWhere: storedIsOlder(subscriptions.externalVersion, subscriptions.externalUpdatedAt),
    })
    .returning({ externalId: subscriptions.externalId, status: subscriptions.status, inserted: sql<boolean>`(xmax = 0)` });
  const byId = new Map(rows.map((r) => [r.externalId, r]));
  return records.map((r) => {
    const row = byId.get(r.id);
    if (!row) return 'unchanged';
    if (row.status === 'CANCELED') return 'deleted';
    return row.inserted ? 'created' : 'updated';
  });
}

/** applyInvoice for a page of records (sync): one multi-row upsert, then the billing flag once. Added for sync by issue #5. */
export async function applyInvoices(tx: Tx, integration: ApplyTarget, records: ProviderInvoice[]): Promise<ApplyOutcome[]> {
  if (records.length === 0) return [];
  const values = records.map(invoiceValues);
  const rows = await tx
    .insert(invoices)
    .values(values.map((v, i) => ({ tenantId: integration.tenantId, integrationId: integration.id, externalId: records[i]!.id, ...v })))
    .onConflictDoUpdate({
      target: [invoices.tenantId, invoices.integrationId, invoices.externalId],
      set: { ...fromExcluded(invoices, values[0]!), updatedAt: new Date() },
      setWhere: storedIsOlder(invoices.externalVersion, invoices.externalUpdatedAt),
    })
    .returning({ externalId: invoices.externalId, inserted: sql<boolean>`(xmax = 0)` });
  if (rows.length) await refreshBillingStatus(tx, integration.tenantId);
  const byId = new Map(rows.map((r) => [r.externalId, r]));
  return records.map((r) => {
    const row = byId.get(r.id);
    return !row ? 'unchanged' : row.inserted ? 'created' : 'updated';
  });
}
