CREATE TYPE "public"."outbound_message_status" AS ENUM('QUEUED', 'SENDING', 'SENT', 'FAILED', 'DEAD', 'CANCELED');--> statement-breakpoint
CREATE TYPE "public"."user_token_purpose" AS ENUM('INVITATION', 'PASSWORD_RESET', 'EMAIL_CHANGE');--> statement-breakpoint
CREATE TABLE "outbound_messages" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"integration_id" uuid NOT NULL,
	"user_id" uuid,
	"kind" text NOT NULL,
	"to_email" text NOT NULL,
	"subject" text NOT NULL,
	"body_encrypted" text,
	"idempotency_key" text NOT NULL,
	"status" "outbound_message_status" DEFAULT 'QUEUED' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"lease_until" timestamp (3) with time zone,
	"sent_at" timestamp (3) with time zone,
	"provider_message_id" text,
	"delivery_status" "delivery_status",
	"delivery_version" bigint,
	"delivery_updated_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "outbound_messages_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "outbound_messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sessions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"user_agent" text,
	"ip_address" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"revoked_at" timestamp (3) with time zone,
	CONSTRAINT "sessions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "user_tokens" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"purpose" "user_token_purpose" NOT NULL,
	"token_hash" text NOT NULL,
	"new_email" text,
	"created_by" uuid,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"used_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone,
	"message_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_tokens_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "user_tokens" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "integrations" ADD COLUMN "invite_new_users" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_integration_fk" FOREIGN KEY ("tenant_id","integration_id") REFERENCES "public"."integrations"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_tenant_id_user_id_users_tenant_id_id_fk" FOREIGN KEY ("tenant_id","user_id") REFERENCES "public"."users"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_tokens" ADD CONSTRAINT "user_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_tokens" ADD CONSTRAINT "user_tokens_tenant_id_user_id_users_tenant_id_id_fk" FOREIGN KEY ("tenant_id","user_id") REFERENCES "public"."users"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "outbound_messages_provider_key" ON "outbound_messages" USING btree ("tenant_id","integration_id","provider_message_id");--> statement-breakpoint
CREATE INDEX "outbound_messages_user_idx" ON "outbound_messages" USING btree ("tenant_id","user_id");--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("tenant_id","user_id","last_used_at");--> statement-breakpoint
CREATE UNIQUE INDEX "user_tokens_hash_key" ON "user_tokens" USING btree ("tenant_id","token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "user_tokens_live_key" ON "user_tokens" USING btree ("tenant_id","user_id","purpose") WHERE used_at is null and revoked_at is null;--> statement-breakpoint
CREATE INDEX "user_tokens_tenant_created_idx" ON "user_tokens" USING btree ("tenant_id","purpose","created_at","id");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "outbound_messages" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sessions" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "user_tokens" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
-- Issue 13 (people): FORCE RLS, the composite FKs drizzle can't say, grants, audit, auth events, job queues.
ALTER TABLE outbound_messages FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- A deleted user's messages stay as history, unlinked; a deleted message unlinks its token.
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_user_fk
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id);--> statement-breakpoint
ALTER TABLE user_tokens ADD CONSTRAINT user_tokens_message_fk
  FOREIGN KEY (tenant_id, message_id) REFERENCES outbound_messages (tenant_id, id) ON DELETE SET NULL (message_id);--> statement-breakpoint
-- History: never deleted by the app (deleting the user or the integration cascades).
GRANT SELECT, INSERT, UPDATE ON outbound_messages, user_tokens, sessions TO tessera_app;--> statement-breakpoint
-- Invitations, resets and email changes are audited row by row (token_hash and body_encrypted are
-- redacted by name); sessions are recorded as auth events (login, refresh, SESSION_REVOKED).
SELECT audit.attach('user_tokens');--> statement-breakpoint
SELECT audit.attach('outbound_messages');--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit.record_event(p_action text, p_entity_type text, p_entity_id text, p_details jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'audit.record_event needs a tenant transaction' USING ERRCODE = '42501'; END IF;
  IF p_action NOT IN ('LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'SESSION_REFRESHED', 'REFRESH_TOKEN_REUSED', 'LOGOUT',
                      'SESSION_REVOKED', 'PASSWORD_RESET_REQUESTED', 'PASSWORD_RESET', 'INVITATION_ACCEPTED', 'EMAIL_CHANGED') THEN
    RAISE EXCEPTION 'not an auth event: %', p_action USING ERRCODE = '22023';
  END IF;
  PERFORM audit.append(t, p_action, p_entity_type, p_entity_id, p_details);
END $$;--> statement-breakpoint
-- The app role may enqueue its own tenant's jobs on these queues only (0011), now also outbound messages and reset requests.
DROP POLICY tenant_jobs ON pgboss.job;--> statement-breakpoint
CREATE POLICY tenant_jobs ON pgboss.job AS PERMISSIVE FOR INSERT TO tessera_app, tessera_ingest
  WITH CHECK (
    data ->> 'tenantId' = (select nullif(current_setting('app.tenant_id', true), ''))
    AND (name IN ('integration-push', 'integration-sync', 'communication-send', 'password-reset-request') OR (name LIKE 'webhooks-%' AND name NOT LIKE '%-dead'))
  );
