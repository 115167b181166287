ALTER TYPE "public"."actor_type" ADD VALUE 'SCIM';--> statement-breakpoint
CREATE TABLE "scim_tokens" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp (3) with time zone,
	CONSTRAINT "scim_tokens_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "scim_tokens" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "scim_external_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "scim_external_id" text;--> statement-breakpoint
ALTER TABLE "scim_tokens" ADD CONSTRAINT "scim_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "scim_tokens_hash_key" ON "scim_tokens" USING btree ("tenant_id","token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_tenant_scim_external_key" ON "organizations" USING btree ("tenant_id","scim_external_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_scim_external_key" ON "users" USING btree ("tenant_id","scim_external_id");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "scim_tokens" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
-- Security for the SCIM tokens (ARCHITECTURE invariants 1, 5, 10): RLS forced, audited (the hash
-- column is redacted by audit.is_redacted), and the app role may create and revoke, never delete.
ALTER TABLE scim_tokens FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON scim_tokens TO tessera_app;--> statement-breakpoint
SELECT audit.attach('scim_tokens');
