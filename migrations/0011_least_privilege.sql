-- Least privilege per path (issue 11 §3, ARCHITECTURE invariant 10). One LOGIN role per path, each
-- with a pool of its own; none is a member of another (no SET ROLE), none is superuser or BYPASSRLS,
-- none owns a table except tessera_queue, which owns pg-boss's schema. The migrator creates the login
-- roles with their passwords before this runs (src/db/migrate.ts, src/db/roles.ts):
--
--   tessera_app          tenant requests and tenant-scoped job work: app_begin, the login lookup
--                        (platform.tenant_by_slug), its tenant's rows under RLS, auth audit events,
--                        verifying its own tenant's audit chain, enqueueing its own tenant's jobs
--   tessera_ingest       the webhook receiver: the integration lookup, storing events and their jobs
--   tessera_platform_api the platform operator's functions (create, list, suspend, re-plan tenants)
--   tessera_system       system jobs over all tenants: the cron fan-outs' integration list, audit prune
--   tessera_queue        pg-boss: owns the pgboss schema (it creates a partition per queue)
--   tessera_rate_limit   the rate-limit counters, nothing else
--
-- tests/roles-catalog.test.ts holds the expected grants of each role; a new grant fails it.

-- Nothing we define is executable by PUBLIC: every EXECUTE below is granted to a named role.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;--> statement-breakpoint
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname IN ('public', 'platform', 'audit', 'pgboss') LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $$;--> statement-breakpoint

-- Starting a tenant transaction: the app and the webhook receiver (which stores under the tenant it looked up).
GRANT EXECUTE ON FUNCTION app_begin(json) TO tessera_app, tessera_ingest;--> statement-breakpoint
-- app_begin reads the tenant's status and the user's status and role under RLS: the receiver may read those columns only.
GRANT USAGE ON SCHEMA public TO tessera_ingest;--> statement-breakpoint
GRANT SELECT (id, status) ON tenants TO tessera_ingest;--> statement-breakpoint
GRANT SELECT (tenant_id, id, status, role) ON users TO tessera_ingest;--> statement-breakpoint
GRANT SELECT (tenant_id, id), INSERT ON webhook_events TO tessera_ingest;--> statement-breakpoint

-- platform.*: each function executable only by the role of its path. The app role keeps the login lookup.
REVOKE ALL ON FUNCTION platform.create_tenant(text, text, tenant_plan, text, text, text), platform.list_tenants(),
  platform.set_tenant_status(uuid, tenant_status), platform.set_tenant_plan(uuid, tenant_plan),
  platform.webhook_integration(uuid), platform.require_webhook_integration(uuid, text[]), platform.enabled_integrations()
  FROM tessera_app;--> statement-breakpoint
GRANT USAGE ON SCHEMA platform TO tessera_ingest, tessera_platform_api, tessera_system;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.create_tenant(text, text, tenant_plan, text, text, text), platform.list_tenants(),
  platform.set_tenant_status(uuid, tenant_status), platform.set_tenant_plan(uuid, tenant_plan) TO tessera_platform_api;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.webhook_integration(uuid), platform.require_webhook_integration(uuid, text[]) TO tessera_ingest;--> statement-breakpoint
-- The storing transaction's check (0010) now also requires the integration to belong to the
-- transaction's tenant: from a session of another tenant it answers "unknown" (TS404), like for an
-- integration that does not exist.
CREATE OR REPLACE FUNCTION platform.require_webhook_integration(p_id uuid, p_secrets text[])
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  i record;
BEGIN
  SELECT * INTO i FROM platform.webhook_integration(p_id);
  IF NOT coalesce(i.usable, false) OR i.tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'integration % is unknown or disabled', p_id USING ERRCODE = 'TS404';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_secrets) s
             WHERE s IS DISTINCT FROM i.secret_encrypted AND s IS DISTINCT FROM i.previous_secret_encrypted) THEN
    RAISE EXCEPTION 'a webhook secret of integration % is no longer valid', p_id USING ERRCODE = 'TS401';
  END IF;
END
$$;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.enabled_integrations() TO tessera_system;--> statement-breakpoint

-- audit.*: the chain is verified for the transaction's own tenant only (no parameter names a tenant);
-- pruning every tenant's expired entries is a system job.
REVOKE ALL ON FUNCTION audit.verify_chain(uuid, bigint), audit.prune_expired(), audit.is_redacted(text) FROM tessera_app;--> statement-breakpoint
DROP FUNCTION audit.verify_chain(uuid, bigint);--> statement-breakpoint
-- See 0009 for what each reason means. SECURITY INVOKER: reads under the caller's RLS, for the
-- tenant of the caller's transaction (app_begin); without one it refuses.
CREATE FUNCTION audit.verify_chain(p_from bigint DEFAULT NULL)
RETURNS TABLE (ok boolean, checked_entries bigint, first_broken_seq bigint, reason text)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  p_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  head audit_chain_heads;
  n bigint;
  bad record;
  last_entry record;
  anchor_seq bigint;
  anchor_hash text;
BEGIN
  IF p_tenant IS NULL THEN RAISE EXCEPTION 'audit.verify_chain needs a tenant transaction' USING ERRCODE = '42501'; END IF;
  SELECT * INTO head FROM audit_chain_heads WHERE tenant_id = p_tenant;
  IF NOT FOUND THEN
    SELECT count(*) INTO n FROM audit_logs WHERE tenant_id = p_tenant;
    RETURN QUERY SELECT n = 0, n, CASE WHEN n = 0 THEN NULL ELSE 1::bigint END, CASE WHEN n = 0 THEN NULL ELSE 'TAIL_MISMATCH' END;
    RETURN;
  END IF;
  anchor_seq := head.anchor_seq;
  anchor_hash := head.anchor_hash;
  IF p_from IS NOT NULL AND p_from > head.anchor_seq + 1 THEN
    anchor_seq := p_from - 1;
    SELECT l.hash INTO anchor_hash FROM audit_logs l WHERE l.tenant_id = p_tenant AND l.seq = p_from - 1;
    IF anchor_hash IS NULL THEN
      RETURN QUERY SELECT false, 0::bigint, p_from - 1, 'ENTRY_MISSING'::text;
      RETURN;
    END IF;
  END IF;
  SELECT count(*) INTO n FROM audit_logs WHERE tenant_id = p_tenant AND seq > anchor_seq;
  SELECT x.seq, x.reason INTO bad FROM (
    SELECT l.seq,
      CASE
        WHEN audit.entry_hash(l) <> l.hash THEN 'ENTRY_ALTERED'
        WHEN lag(l.seq) OVER w IS NULL AND l.seq <> anchor_seq + 1 THEN 'CHAIN_START_MISMATCH'
        WHEN lag(l.seq) OVER w IS NULL AND l.prev_hash <> anchor_hash THEN 'CHAIN_START_MISMATCH'
        WHEN lag(l.seq) OVER w IS NOT NULL AND l.seq <> lag(l.seq) OVER w + 1 THEN 'ENTRY_MISSING'
        WHEN lag(l.seq) OVER w IS NOT NULL AND l.prev_hash <> lag(l.hash) OVER w THEN 'LINK_BROKEN'
      END AS reason
    FROM audit_logs l WHERE l.tenant_id = p_tenant AND l.seq > anchor_seq
    WINDOW w AS (ORDER BY l.seq)
  ) x WHERE x.reason IS NOT NULL ORDER BY x.seq LIMIT 1;
  IF bad.seq IS NOT NULL THEN
    RETURN QUERY SELECT false, n, bad.seq::bigint, bad.reason::text;
    RETURN;
  END IF;
  SELECT l.seq, l.hash INTO last_entry FROM audit_logs l WHERE l.tenant_id = p_tenant AND l.seq > anchor_seq ORDER BY l.seq DESC LIMIT 1;
  IF coalesce(last_entry.seq, anchor_seq) <> head.seq OR coalesce(last_entry.hash, anchor_hash) <> head.hash THEN
    RETURN QUERY SELECT false, n, coalesce(last_entry.seq, anchor_seq) + 1, 'TAIL_MISMATCH'::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT true, n, NULL::bigint, NULL::text;
END $$;--> statement-breakpoint
ALTER FUNCTION audit.verify_chain(bigint) OWNER TO tessera_audit;--> statement-breakpoint
REVOKE ALL ON FUNCTION audit.verify_chain(bigint) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit.verify_chain(bigint) TO tessera_app;--> statement-breakpoint
GRANT USAGE ON SCHEMA audit TO tessera_system;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit.prune_expired() TO tessera_system;--> statement-breakpoint

-- Rate-limit counters: only the rate limiter's own role (its own pool) reads and writes them.
REVOKE ALL ON rate_limit_counters FROM tessera_app;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO tessera_rate_limit;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_counters TO tessera_rate_limit;--> statement-breakpoint

-- pg-boss runs as tessera_queue, which owns its schema: it creates a partition table per queue and
-- attaches it to pgboss.job, which only the owner of job may do. (A non-superuser migrator must be
-- able to SET ROLE tessera_queue to hand the schema over; a superuser needs no membership.)
DO $$
DECLARE r record;
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE 'GRANT tessera_queue TO current_user';
  END IF;
  EXECUTE 'ALTER SCHEMA pgboss OWNER TO tessera_queue';
  FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'pgboss' AND c.relkind IN ('r', 'p', 'S', 'v', 'm') LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO tessera_queue', r.rel);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgboss' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO tessera_queue', r.fn);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS ty FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'pgboss' AND t.typtype = 'e' LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO tessera_queue', r.ty);
  END LOOP;
END $$;--> statement-breakpoint

-- Enqueueing inside our own transactions (the app role: pushes, syncs, replays; the receiver:
-- webhook jobs): INSERT on job only, and only jobs of the transaction's tenant on the queues that
-- carry tenant work. pg-boss itself (the owner) is not subject to the policy.
GRANT USAGE ON SCHEMA pgboss TO tessera_ingest;--> statement-breakpoint
GRANT SELECT ON pgboss.queue TO tessera_ingest;--> statement-breakpoint
GRANT INSERT ON pgboss.job TO tessera_ingest;--> statement-breakpoint
ALTER TABLE pgboss.job ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_jobs ON pgboss.job AS PERMISSIVE FOR INSERT TO tessera_app, tessera_ingest
  WITH CHECK (
    data ->> 'tenantId' = (select nullif(current_setting('app.tenant_id', true), ''))
    AND (name IN ('integration-push', 'integration-sync') OR (name LIKE 'webhooks-%' AND name NOT LIKE '%-dead'))
  );
