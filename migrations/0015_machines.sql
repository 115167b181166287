ALTER TYPE "public"."actor_type" ADD VALUE 'API_KEY';--> statement-breakpoint
CREATE TABLE "api_key_usage" (
	"tenant_id" uuid NOT NULL,
	"api_key_id" uuid NOT NULL,
	"last_used_at" timestamp (3) with time zone,
	"last_used_ip" text,
	CONSTRAINT "api_key_usage_tenant_id_api_key_id_pk" PRIMARY KEY("tenant_id","api_key_id")
);
--> statement-breakpoint
ALTER TABLE "api_key_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "api_keys" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"role" "tenant_role" NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"created_by" uuid,
	"expires_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "idempotency_records" (
	"tenant_id" uuid NOT NULL,
	"principal_id" uuid NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "idempotency_records_tenant_id_principal_id_key_pk" PRIMARY KEY("tenant_id","principal_id","key")
);
--> statement-breakpoint
ALTER TABLE "idempotency_records" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "api_key_usage" ADD CONSTRAINT "api_key_usage_tenant_id_api_key_id_api_keys_tenant_id_id_fk" FOREIGN KEY ("tenant_id","api_key_id") REFERENCES "public"."api_keys"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "idempotency_records" ADD CONSTRAINT "idempotency_records_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_tenant_created_idx" ON "api_keys" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "idempotency_records_expiry_idx" ON "idempotency_records" USING btree ("expires_at");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "api_key_usage" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "api_keys" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "idempotency_records" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
-- Issue 15 (the API for machines): API keys, their last use, idempotency records. Hand-written below.
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE api_key_usage FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE idempotency_records FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (tenant_id, key_hash);--> statement-breakpoint
-- Keys are revoked, never deleted: the audit trail keeps naming them.
GRANT SELECT, INSERT, UPDATE ON api_keys, api_key_usage TO tessera_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_records TO tessera_app;--> statement-breakpoint
SELECT audit.attach('api_keys');--> statement-breakpoint

-- app_begin also recognises an API key (settings api_key_id, and api_key_hash when the key is the
-- actor): it answers the key's standing in the user columns (ACTIVE while neither revoked nor
-- expired, DEACTIVATED otherwise; NULL for an unknown key or a wrong hash) and the key's role, so a
-- key costs a request the same single round trip as an access token. A request by a key records its
-- last use (time, IP) at most once a minute per IP, skipping a row another request holds (no waits).
CREATE OR REPLACE FUNCTION app_begin(settings json)
RETURNS TABLE (tenant_status tenant_status, user_status user_status, user_role tenant_role)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  k text;
  p_tenant uuid := nullif(settings ->> 'tenant_id', '')::uuid;
  p_key uuid := nullif(settings ->> 'api_key_id', '')::uuid;
  by_key boolean := settings ->> 'actor_type' = 'API_KEY';
  ip text := nullif(settings ->> 'client_ip', '');
  r record;
BEGIN
  FOREACH k IN ARRAY ARRAY['tenant_id', 'user_id', 'actor_type', 'actor_id', 'request_id', 'client_ip', 'user_agent'] LOOP
    PERFORM set_config('app.' || k, coalesce(settings ->> k, ''), true);
  END LOOP;
  IF p_key IS NULL THEN
    RETURN QUERY
      SELECT t.status, u.status, u.role
      FROM tenants t
      LEFT JOIN users u ON u.tenant_id = t.id AND u.id = nullif(settings ->> 'user_id', '')::uuid
      WHERE t.id = p_tenant;
    RETURN;
  END IF;
  SELECT t.status AS tenant_status, ak.id, ak.role, (ak.revoked_at IS NULL AND (ak.expires_at IS NULL OR ak.expires_at > now())) AS live
    INTO r
    FROM tenants t
    LEFT JOIN api_keys ak ON ak.tenant_id = t.id AND ak.id = p_key AND (NOT by_key OR ak.key_hash = settings ->> 'api_key_hash')
    WHERE t.id = p_tenant;
  IF NOT FOUND THEN RETURN; END IF;
  IF by_key AND NOT coalesce(r.live, false) THEN
    PERFORM set_config('app.actor_id', '', true); -- a key that is not (or no longer) valid acts as nobody
  ELSIF by_key THEN
    UPDATE api_key_usage SET last_used_at = now(), last_used_ip = ip
    WHERE tenant_id = p_tenant AND api_key_id IN (
      SELECT u.api_key_id FROM api_key_usage u
      WHERE u.tenant_id = p_tenant AND u.api_key_id = p_key
        AND (u.last_used_at IS NULL OR u.last_used_at < now() - interval '1 minute' OR u.last_used_ip IS DISTINCT FROM ip)
      FOR UPDATE SKIP LOCKED);
  END IF;
  RETURN QUERY SELECT r.tenant_status,
    (CASE WHEN r.id IS NULL THEN NULL WHEN r.live THEN 'ACTIVE' ELSE 'DEACTIVATED' END)::user_status,
    r.role;
END $$;--> statement-breakpoint

-- Live credentials (0013): revoking a key, changing its role or expiry, notifies like a user's change
-- (the key's id in userId: open sockets of the key re-read it through app_begin and close).
CREATE OR REPLACE FUNCTION notify_principal_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_TABLE_NAME = 'tenants' THEN
    PERFORM pg_notify('tessera_principals', json_build_object('kind', 'tenant', 'tenantId', OLD.id)::text);
  ELSIF TG_TABLE_NAME IN ('users', 'api_keys') THEN
    PERFORM pg_notify('tessera_principals', json_build_object('kind', 'user', 'tenantId', OLD.tenant_id, 'userId', OLD.id)::text);
  ELSE
    PERFORM pg_notify('tessera_principals', json_build_object('kind', 'session', 'tenantId', OLD.tenant_id, 'userId', OLD.user_id, 'sessionId', OLD.family_id)::text);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER api_keys_principal_changed AFTER UPDATE OF revoked_at, role, expires_at ON api_keys
  FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.role IS DISTINCT FROM NEW.role OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
  EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint
CREATE TRIGGER api_keys_principal_deleted AFTER DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION notify_principal_change();
