/**
 * Provider records as they arrive on the wire (webhook `data`, and the REST APIs that sync pulls),
 * validated before anything is applied. Every record carries the provider's id, a version that
 * grows with each change, and updated_at: the conflict rule (conflict.ts) reads those two.
 */
import { z } from 'zod';
import { isoDateTime } from '../../validation.js';

const versioned = {
  id: z.string().min(1).max(200),
  version: z.number().int().min(0),
  // Year-checked (isoDateTime): a year Postgres can't store would pass receipt and then fail every attempt.
  updated_at: isoDateTime,
};

export const providerUser = z.object({
  ...versioned,
  email: z.string().trim().toLowerCase().max(254).email(),
  name: z.string().trim().min(1).max(200),
  status: z.enum(['active', 'deleted']),
});

export const providerSubscription = z.object({
  ...versioned,
  customer_id: z.string().max(200).nullish(),
  plan: z.enum(['FREE', 'STARTER', 'PRO', 'ENTERPRISE']),
  status: z.enum(['active', 'past_due', 'canceled']),
  current_period_end: isoDateTime.nullish(),
});

export const providerInvoice = z.object({
  ...versioned,
  subscription_id: z.string().max(200).nullish(),
  amount_cents: z.number().int().min(0),
  currency: z.string().min(3).max(3),
  status: z.enum(['paid', 'open', 'failed']),
});

export const providerMessage = z.object({
  ...versioned,
  to_email: z.string().max(254),
  user_external_id: z.string().max(200).nullish(),
  channel: z.string().min(1).max(50),
  status: z.enum(['sent', 'delivered', 'bounced', 'failed']),
  /** What the sender attached when sending (providers echo it back): ours carries our message id. */
  metadata: z.object({ tessera_message_id: z.uuid().optional() }).nullish(),
});

export type ProviderUser = z.infer<typeof providerUser>;
export type ProviderSubscription = z.infer<typeof providerSubscription>;
export type ProviderInvoice = z.infer<typeof providerInvoice>;
export type ProviderMessage = z.infer<typeof providerMessage>;
