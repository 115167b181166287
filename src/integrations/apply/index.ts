/**
 * Applying provider records to our tables: the one place webhooks and sync write mirrored data.
 * Each `applyX(tx, integration, record)` runs inside the caller's inTenant transaction (an
 * INTEGRATION actor, so RLS and audit apply) and returns what it did.
 */
export { applyUser, applyUsers } from './users.js';
export { applySubscription, applyInvoice, applySubscriptions, applyInvoices, refreshBillingStatus } from './billing.js';
export { applyMessage } from './messages.js';
export { isNewer, storedIsOlder, versionOf, type ApplyOutcome, type ApplyTarget, type ExternalVersion } from './conflict.js';
export * from './records.js';
