/**
 * Integrations: a tenant's connections to providers, administered by ADMINs. Credentials and webhook
 * secrets are encrypted at rest (src/integrations/secrets.ts) and never returned — except a newly
 * generated webhook secret, shown once in the response that created it.
 */
import crypto from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { Scope } from '../../db/tenant-transaction.js';
import { PROVIDERS } from '../../db/providers.js';
import { integrations, type IntegrationRow } from '../../db/schema.js';
import { notFound } from '../../errors.js';
import { generateWebhookSecret, secretBinding, type SecretBox } from '../../integrations/secrets.js';
import type { Credentials } from '../../integrations/targets.js';
import { fields, isNetwork, parseNetwork, validate } from '../../validation.js';
import { outboundUrlSchema, type OutboundPolicy } from '../../integrations/outbound-policy.js';
import type { IntegrationDeps } from '../../integrations/deps.js';

/** Webhook senders allowed (CIDRs or addresses); empty: any. Stored in canonical form (network address). */
const allowedSources = z
  .array(z.string().trim().max(64, 'At most 64 characters').refine(isNetwork, 'Not an IP address or CIDR'), { error: 'A list of CIDRs' })
  .max(50, 'At most 50 networks')
  .transform((list) => [...new Set(list.map(canonicalNetwork))]);
const apiKey = z.string().min(1, 'Must not be empty').max(4000, 'At most 4000 characters');
const id = z.string().uuid('Not a UUID');

/** What the API returns alongside a newly generated secret. */
export interface IntegrationWithSecret {
  integration: IntegrationRow;
  webhookSecret: string;
  previousSecretExpiresAt: Date | null;
}

export async function listIntegrations(scope: Scope): Promise<IntegrationRow[]> {
  return scope.read((tx) => tx.select().from(integrations).orderBy(asc(integrations.createdAt), asc(integrations.id)));
}

export async function getIntegration(scope: Scope, integrationId: string): Promise<IntegrationRow | null> {
  validate(z.object({ id }), { id: integrationId });
  const [row] = await scope.read((tx) => tx.select().from(integrations).where(eq(integrations.id, integrationId)));
  return row ?? null;
}

/** What creating or changing an integration needs from the app: the secret box and the outbound policy. */
export type IntegrationInputDeps = Pick<IntegrationDeps, 'secrets'> & { integrations: Pick<IntegrationDeps['integrations'], 'policy'> };

const createInput = (policy: OutboundPolicy) =>
  z.object({
    provider: z.enum(PROVIDERS),
    name: fields.name,
    baseUrl: outboundUrlSchema(policy),
    apiKey,
    enabled: z.boolean().nullish(),
    webhookAllowedSources: allowedSources.nullish(),
    inviteNewUsers: z.boolean().nullish(),
  });

export interface CreateIntegrationInput {
  provider: (typeof PROVIDERS)[number];
  name: string;
  baseUrl: string;
  apiKey: string;
  enabled?: boolean | null;
  webhookAllowedSources?: string[] | null;
  /** USER_SERVICE: invite mirrored users as they first appear (issue 13). */
  inviteNewUsers?: boolean | null;
}

/** Creates an integration with a fresh webhook signing secret, returned this once. */
export async function createIntegration(scope: Scope, deps: IntegrationInputDeps, input: CreateIntegrationInput): Promise<IntegrationWithSecret> {
  const { secrets } = deps;
  const data = validate(createInput(deps.integrations.policy), input);
  const tenantId = scope.actor.tenantId;
  const integrationId = crypto.randomUUID(); // chosen here: the ciphertexts are bound to it
  const webhookSecret = generateWebhookSecret();
  const row = await scope.write(async (tx) => {
    const [r] = await tx
      .insert(integrations)
      .values({
        tenantId,
        id: integrationId,
        provider: data.provider,
        name: data.name,
        baseUrl: data.baseUrl,
        enabled: data.enabled ?? true,
        webhookAllowedSources: data.webhookAllowedSources ?? [],
        inviteNewUsers: data.inviteNewUsers ?? false,
        credentialsEncrypted: secrets.encrypt(JSON.stringify({ apiKey: data.apiKey } satisfies Credentials), secretBinding(tenantId, integrationId, 'credentials')),
        webhookSecretEncrypted: secrets.encrypt(webhookSecret, secretBinding(tenantId, integrationId, 'webhook-secret')),
      })
      .returning();
    return r!;
  });
  return { integration: row, webhookSecret, previousSecretExpiresAt: null };
}

const updateInput = (policy: OutboundPolicy) =>
  z.object({
    name: fields.name.nullish(),
    baseUrl: outboundUrlSchema(policy).nullish(),
    apiKey: apiKey.nullish(),
    enabled: z.boolean().nullish(),
    webhookAllowedSources: allowedSources.nullish(),
    inviteNewUsers: z.boolean().nullish(),
  });

export async function updateIntegration(scope: Scope, deps: IntegrationInputDeps, integrationId: string, input: { [K in keyof CreateIntegrationInput]?: CreateIntegrationInput[K] | null }): Promise<IntegrationRow> {
  const { secrets } = deps;
  validate(z.object({ id }), { id: integrationId });
  const data = validate(updateInput(deps.integrations.policy), input);
  const tenantId = scope.actor.tenantId;
  return scope.write(async (tx) => {
    const [row] = await tx
      .update(integrations)
      .set({
        name: data.name ?? undefined,
        baseUrl: data.baseUrl ?? undefined,
        enabled: data.enabled ?? undefined,
        webhookAllowedSources: data.webhookAllowedSources ?? undefined,
        inviteNewUsers: data.inviteNewUsers ?? undefined,
        credentialsEncrypted: data.apiKey ? secrets.encrypt(JSON.stringify({ apiKey: data.apiKey }), secretBinding(tenantId, integrationId, 'credentials')) : undefined,
        updatedAt: new Date(),
      })
      .where(eq(integrations.id, integrationId))
      .returning();
    if (!row) throw notFound('Integration');
    return row;
  });
}

/** Deletes the integration; its events, mirrored billing and delivery records and health go with it (FK cascade). Users stay. */
export async function deleteIntegration(scope: Scope, integrationId: string): Promise<{ id: string }> {
  validate(z.object({ id }), { id: integrationId });
  return scope.write(async (tx) => {
    const [row] = await tx.delete(integrations).where(eq(integrations.id, integrationId)).returning({ id: integrations.id });
    if (!row) throw notFound('Integration');
    return row;
  });
}

const rotateInput = z.object({ id, overlapHours: z.number().min(0, 'At least 0').max(720, 'At most 720 (30 days)') });

/**
 * A new signing secret, returned this once. The current one becomes the previous secret and keeps
 * verifying for `overlapHours` (default WEBHOOK_SECRET_OVERLAP_HOURS), so the provider can switch
 * without refused deliveries. A second rotation within the window drops the oldest secret.
 */
export async function rotateWebhookSecret(scope: Scope, secrets: SecretBox, integrationId: string, overlapHours: number): Promise<IntegrationWithSecret> {
  validate(rotateInput, { id: integrationId, overlapHours });
  const tenantId = scope.actor.tenantId;
  const webhookSecret = generateWebhookSecret();
  const expiresAt = new Date(Date.now() + overlapHours * 3_600_000);
  const row = await scope.write(async (tx) => {
    const [current] = await tx.select().from(integrations).where(eq(integrations.id, integrationId)).for('update');
    if (!current) throw notFound('Integration');
    const [r] = await tx
      .update(integrations)
      .set({
        webhookSecretEncrypted: secrets.encrypt(webhookSecret, secretBinding(tenantId, integrationId, 'webhook-secret')),
        previousWebhookSecretEncrypted: overlapHours > 0 ? current.webhookSecretEncrypted : null,
        previousSecretExpiresAt: overlapHours > 0 ? expiresAt : null,
        updatedAt: new Date(),
      })
      .where(eq(integrations.id, integrationId))
      .returning();
    return r!;
  });
  return { integration: row, webhookSecret, previousSecretExpiresAt: row.previousSecretExpiresAt };
}

/** "10.1.2.3/8" → "10.0.0.0/8"; a single address stays itself ("192.0.2.7" → "192.0.2.7/32"). */
function canonicalNetwork(s: string): string {
  const [ip, bits] = parseNetwork(s);
  const cidr = `${ip.toString()}/${bits}`;
  const network = ip.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return `${network.toString()}/${bits}`;
}
