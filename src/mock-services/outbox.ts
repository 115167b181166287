/** What the fake communication provider sent, with content: the "mailbox" tests and people read through /_control/messages. */
import type { Message } from './types.js';

export interface SentMessage extends Message {
  subject: string;
  text: string;
  /** The API key it was sent with (not shown): webhooks go to that account's endpoint. */
  account: string;
  sent_at: string;
  /** Status codes of the delivery-status webhook attempts (0: no answer). */
  webhook_attempts: number[];
}

const MAX_KEPT = 10_000;

export class Outbox {
  private readonly sent = new Map<string, SentMessage>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Webhook endpoint per account (Authorization header). */
  readonly endpoints = new Map<string, { url: string; secret: string }>();

  record(message: Omit<SentMessage, 'sent_at' | 'webhook_attempts'>): void {
    if (this.sent.size >= MAX_KEPT) this.sent.delete(this.sent.keys().next().value!);
    this.sent.set(message.id, { ...message, sent_at: new Date().toISOString(), webhook_attempts: [] });
  }

  setStatus(id: string, status: Message['status']): void {
    const m = this.sent.get(id);
    if (m) m.status = status;
  }

  webhookAttempt(id: string, status: number): void {
    this.sent.get(id)?.webhook_attempts.push(status);
  }

  /** Newest first, optionally to one address; each with the links found in its text. */
  list(filter: { to?: string | undefined; kind?: string | undefined; limit: number }) {
    const all = [...this.sent.values()]
      .reverse()
      .filter((m) => (!filter.to || m.to_email.toLowerCase() === filter.to.toLowerCase()) && (!filter.kind || m.metadata?.kind === filter.kind));
    return all.slice(0, filter.limit).map(({ account: _account, ...m }) => ({ ...m, links: m.text.match(/https?:\/\/[^\s<>"')]+/g) ?? [] }));
  }

  /** A timer that dies with the mock (close or reset). */
  later(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn().catch(() => undefined);
    }, ms);
    this.timers.add(t);
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sent.clear();
    this.endpoints.clear();
  }
}
