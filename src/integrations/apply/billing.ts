/**
 * Subscriptions and invoices mirrored from a payment-service integration, and the tenant's billing
 * flag derived from them. Each apply is one upsertIfNewer (conflict.ts) for any number of records.
 */
import { and, count, eq, min } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { billingStatus, invoices, subscriptions } from '../../db/schema.js';
import { upsertIfNewer, upsertOutcome, type ApplyOutcome, type ApplyTarget } from './conflict.js';
import type { ProviderInvoice, ProviderSubscription } from './records.js';

const SUBSCRIPTION_STATUS = { active: 'ACTIVE', past_due: 'PAST_DUE', canceled: 'CANCELED' } as const;
const INVOICE_STATUS = { paid: 'PAID', open: 'OPEN', failed: 'FAILED' } as const;

const subscriptionValues = (record: ProviderSubscription) => ({
  plan: record.plan,
  status: SUBSCRIPTION_STATUS[record.status],
  customerExternalId: record.customer_id ?? null,
  currentPeriodEnd: record.current_period_end ?? null,
  externalVersion: record.version,
  externalUpdatedAt: record.updated_at,
});

const invoiceValues = (record: ProviderInvoice) => ({
  subscriptionExternalId: record.subscription_id ?? null,
  amountCents: record.amount_cents,
  currency: record.currency.toUpperCase(),
  status: INVOICE_STATUS[record.status],
  externalVersion: record.version,
  externalUpdatedAt: record.updated_at,
});

/** Applies subscriptions (one upsertIfNewer); a newer record that cancels is 'deleted'. Outcomes in input order. */
export async function applySubscriptions(tx: Tx, integration: ApplyTarget, records: ProviderSubscription[]): Promise<ApplyOutcome[]> {
  const values = records.map(subscriptionValues);
  const written = await upsertIfNewer(tx, subscriptions, integration, records.map((r, i) => ({ externalId: r.id, values: values[i]! })));
  return records.map((r, i) => {
    const outcome = upsertOutcome(written.get(r.id));
    return outcome !== 'unchanged' && values[i]!.status === 'CANCELED' ? 'deleted' : outcome;
  });
}

export async function applySubscription(tx: Tx, integration: ApplyTarget, record: ProviderSubscription): Promise<ApplyOutcome> {
  return (await applySubscriptions(tx, integration, [record]))[0]!;
}

/** Applies invoices (one upsertIfNewer), then re-derives the tenant's payment-failed flag once if any changed. */
export async function applyInvoices(tx: Tx, integration: ApplyTarget, records: ProviderInvoice[]): Promise<ApplyOutcome[]> {
  const written = await upsertIfNewer(tx, invoices, integration, records.map((r) => ({ externalId: r.id, values: invoiceValues(r) })));
  if (written.size) await refreshBillingStatus(tx, integration.tenantId);
  return records.map((r) => upsertOutcome(written.get(r.id)));
}

export async function applyInvoice(tx: Tx, integration: ApplyTarget, record: ProviderInvoice): Promise<ApplyOutcome> {
  return (await applyInvoices(tx, integration, [record]))[0]!;
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
