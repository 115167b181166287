/** Record shapes of the three fake providers, as they appear on the wire (snake_case JSON). */

export const SERVICES = ['user-service', 'payment-service', 'communication-service'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Every provider record carries these, so one paginator and one "touch" serve them all. */
export interface Versioned {
  id: string;
  updated_at: string;
  version: number;
}

export interface User extends Versioned {
  email: string;
  name: string;
  status: 'active' | 'deleted';
}

export const PLANS = ['FREE', 'STARTER', 'PRO', 'ENTERPRISE'] as const;

export interface Subscription extends Versioned {
  /** The user-service id of the customer, so data links across providers. */
  customer_id: string;
  plan: (typeof PLANS)[number];
  status: 'active' | 'past_due' | 'canceled';
  current_period_end: string;
}

export interface Invoice extends Versioned {
  subscription_id: string;
  amount_cents: number;
  currency: string;
  status: 'paid' | 'open' | 'failed';
}

export interface Message extends Versioned {
  to_email: string;
  user_external_id?: string;
  channel: 'email' | 'sms';
  status: 'sent' | 'delivered' | 'bounced' | 'failed';
  /** What the sender attached (echoed in webhooks, as real providers do). */
  metadata?: Record<string, string>;
}

export interface Collections {
  users: User;
  subscriptions: Subscription;
  invoices: Invoice;
  messages: Message;
}
export type CollectionName = keyof Collections;
export const COLLECTIONS: readonly CollectionName[] = ['users', 'subscriptions', 'invoices', 'messages'];

/** Fields a caller supplies when creating a record; id, updated_at and version are assigned by the store. */
export type NewRecord<C extends CollectionName> = Omit<Collections[C], keyof Versioned>;
