-- Integration engine (issue #4): FORCE RLS and grants for the tables of 0004, the webhook lookup
-- function, and the app role's narrow use of the pg-boss schema (installed by the migrator before
-- these migrations run: src/jobs/schema.ts).

ALTER TABLE integrations FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE billing_status FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE notification_deliveries FORCE ROW LEVEL SECURITY;--> statement-breakpoint

GRANT SELECT, INSERT, UPDATE, DELETE ON integrations TO tessera_app;--> statement-breakpoint
-- Events are kept (the dedupe key must outlive sender retries); deleting an integration cascades.
GRANT SELECT, INSERT, UPDATE ON webhook_events TO tessera_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON subscriptions, invoices, billing_status, notification_deliveries TO tessera_app;--> statement-breakpoint

-- A delivery outlives a hard-deleted user: only user_id is cleared (tenant_id stays NOT NULL).
ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_user_fk
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id);--> statement-breakpoint

-- Webhook receiving happens before the tenant is known. This function answers only "which tenant
-- owns this integration, is it usable, and which secrets verify it" — RLS stays on for everything
-- else. Owned by the NOLOGIN platform role, which one SELECT policy lets read integrations.
GRANT SELECT ON integrations TO tessera_platform;--> statement-breakpoint
CREATE POLICY platform_webhook_lookup ON integrations AS PERMISSIVE FOR SELECT TO tessera_platform USING (true);--> statement-breakpoint
CREATE FUNCTION platform.webhook_integration(p_id uuid)
RETURNS TABLE (tenant_id uuid, provider integration_provider, usable boolean, secret_encrypted text, previous_secret_encrypted text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.tenant_id, i.provider, i.enabled AND t.status = 'ACTIVE', i.webhook_secret_encrypted,
         CASE WHEN i.previous_secret_expires_at > now() THEN i.previous_webhook_secret_encrypted END
  FROM integrations i JOIN tenants t ON t.id = i.tenant_id
  WHERE i.id = p_id
$$;--> statement-breakpoint
ALTER FUNCTION platform.webhook_integration(uuid) OWNER TO tessera_platform;--> statement-breakpoint
REVOKE ALL ON FUNCTION platform.webhook_integration(uuid) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.webhook_integration(uuid) TO tessera_app;--> statement-breakpoint

-- pg-boss runs on the owner connection (it creates a partition table per queue). The app role only
-- enqueues inside its own transactions (insert with the `db` option): the insert reads the queue's
-- defaults (ids are chosen by us, so no SELECT on job is needed).
GRANT USAGE ON SCHEMA pgboss TO tessera_app;--> statement-breakpoint
GRANT SELECT ON pgboss.queue TO tessera_app;--> statement-breakpoint
GRANT INSERT ON pgboss.job TO tessera_app;
--> statement-breakpoint

-- The health-check cron runs for every tenant: it may learn which integrations to check (ids only),
-- then checks each inside that tenant's context.
CREATE FUNCTION platform.enabled_integrations()
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.tenant_id, i.id FROM integrations i JOIN tenants t ON t.id = i.tenant_id
  WHERE i.enabled AND t.status = 'ACTIVE'
$$;--> statement-breakpoint
ALTER FUNCTION platform.enabled_integrations() OWNER TO tessera_platform;--> statement-breakpoint
REVOKE ALL ON FUNCTION platform.enabled_integrations() FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.enabled_integrations() TO tessera_app;
