import type { MockServices } from '../../src/mock-services/server.js';
import type { TestServer } from './server.js';
import { waitFor } from './wait.js';

/** What the mock communication service shows of a sent message at /_control/messages. */
export interface MailboxMessage {
  id: string;
  to_email: string;
  subject: string;
  text: string;
  links: string[];
  status: string;
  metadata?: Record<string, string>;
  webhook_attempts: number[];
}

/** The mock's "sent mail" to one address, newest first (over HTTP, as a person or test reads it). */
export async function mailbox(mock: MockServices | { url: string }, to: string): Promise<MailboxMessage[]> {
  const res = await fetch(`${mock.url}/_control/messages?to=${encodeURIComponent(to)}`);
  return ((await res.json()) as { messages: MailboxMessage[] }).messages;
}

/** Waits until `count` messages reached the address; returns the newest. */
export async function waitForMail(mock: MockServices | { url: string }, to: string, count = 1, timeoutMs = 15_000): Promise<MailboxMessage> {
  const list = await waitFor(async () => {
    const m = await mailbox(mock, to);
    return m.length >= count ? m : undefined;
  }, { timeoutMs, message: `${count} message(s) to ${to}` });
  return list[0]!;
}

/** The token of the first link in a message (the `token` query parameter). */
export function tokenOf(message: Pick<MailboxMessage, 'links'>): string {
  const link = message.links[0];
  if (!link) throw new Error('the message has no link');
  return new URL(link).searchParams.get('token')!;
}

/** Registers the integration's webhook endpoint at the mock provider for its API key, as an ADMIN does in a provider's dashboard. */
export async function registerWebhookEndpoint(mock: MockServices | { url: string }, server: Pick<TestServer, 'url'>, integrationId: string, secret: string, apiKey = 'test-api-key') {
  const res = await fetch(`${mock.url}/communication-service/webhook-endpoint`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ url: `${server.url}/webhooks/${integrationId}`, secret }),
  });
  if (!res.ok) throw new Error(`webhook endpoint registration failed: ${res.status} ${await res.text()}`);
}

export const INVITE = `mutation ($input: InviteUserInput!) { inviteUser(input: $input) { invitationUrl invitation { id status email expiresAt user { id email status role } invitedBy { id } message { id status deliveryStatus providerMessageId } } } }`;
export const ACCEPT = `mutation ($token: String!, $password: String!, $name: String) { acceptInvitation(token: $token, password: $password, name: $name) { accessToken refreshToken user { id email name status } } }`;
export const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id status } } }`;
export const INVITATIONS = `query ($filter: InvitationFilter) { invitations(filter: $filter, first: 50) { totalCount edges { node { id status email acceptedAt revokedAt user { id email } message { id status attempts lastError deliveryStatus providerMessageId } } } } }`;
