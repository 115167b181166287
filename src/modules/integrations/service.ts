/**
 * Integrations: a tenant's connections to providers, administered by ADMINs. Credentials and webhook
 * secrets are encrypted at rest (src/integrations/secrets.ts) and never returned — except a newly
 * generated webhook secret, shown once in the response that created it.
 */
import crypto from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Scope } from '../../db/scope.js';
import { PROVIDERS } from '../../db/providers.js';
import { integrations, type IntegrationRow } from '../../db/schema.js';
import { notFound } from '../../errors.js';
import { generateWebhookSecret, secretBinding, type SecretBox } from '../../integrations/secrets.js';
import type { Credentials } from '../../integrations/targets.js';
import { fields, validate } from '../../validation.js';

const baseUrl = z
  .string()
  .trim()
  .max(2000, 'At most 2000 characters')
  .url('Not a URL')
  .refine((u) => /^https?:\/\//i.test(u), 'Must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
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

const createInput = z.object({
  provider: z.enum(PROVIDERS),
  name: fields.name,
  baseUrl,
  apiKey,
  enabled: z.boolean().nullish(),
});

/** Creates an integration with a fresh webhook signing secret, returned this once. */
export async function createIntegration(scope: Scope, secrets: SecretBox, input: z.input<typeof createInput>): Promise<IntegrationWithSecret> {
  const data = validate(createInput, input);
  const tenantId = scope.settings.tenantId;
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
        credentialsEncrypted: secrets.encrypt(JSON.stringify({ apiKey: data.apiKey } satisfies Credentials), secretBinding(tenantId, integrationId, 'credentials')),
        webhookSecretEncrypted: secrets.encrypt(webhookSecret, secretBinding(tenantId, integrationId, 'webhook-secret')),
      })
      .returning();
    return r!;
  });
  return { integration: row, webhookSecret, previousSecretExpiresAt: null };
}

const updateInput = z.object({ name: fields.name.nullish(), baseUrl: baseUrl.nullish(), apiKey: apiKey.nullish(), enabled: z.boolean().nullish() });

export async function updateIntegration(scope: Scope, secrets: SecretBox, integrationId: string, input: z.input<typeof updateInput>): Promise<IntegrationRow> {
  validate(z.object({ id }), { id: integrationId });
  const data = validate(updateInput, input);
  const tenantId = scope.settings.tenantId;
  return scope.write(async (tx) => {
    const [row] = await tx
      .update(integrations)
      .set({
        name: data.name ?? undefined,
        baseUrl: data.baseUrl ?? undefined,
        enabled: data.enabled ?? undefined,
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
  const tenantId = scope.settings.tenantId;
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
