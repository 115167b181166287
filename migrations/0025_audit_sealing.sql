-- Audit entries are sealed into the chain shortly after commit (issue 16).
--
-- Before: the row trigger appended each entry to its tenant's hash chain at COMMIT, under the chain
-- head's row lock, held through the commit's WAL flush. Every writer of a tenant queued on that one
-- row (a convoy whenever the lock holder waits for a core: 62-84 % of the unaudited throughput).
--
-- Now the trigger (still in the same transaction, so still no code path can forget it) inserts the
-- entry into audit_pending: no lock, one index. Sealing moves a tenant's committed pending entries,
-- in the order they were written, into audit_logs with seq, prev_hash and hash, under the head lock,
-- many entries per lock. It runs:
--   - in the worker processes, every AUDIT_SEAL_INTERVAL_MS (audit.seal_all(), tessera_system);
--   - before every read of the trail (auditLogs, auditIntegrity, the export: audit.seal(), the app
--     role, its own tenant), so a reader always sees every committed change.
-- What tamper evidence guarantees (README "Audit trail"): every sealed entry is covered as before
-- (altered, removed, inserted or reordered entries fail verify_chain); a pending entry is covered
-- once sealed. Until then it sits in audit_pending, which no app path can read or change (only these
-- functions, as tessera_audit); a database owner could alter or drop it in that window unseen.
CREATE TABLE audit_pending (
  tenant_id uuid NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  occurred_at timestamp(6) with time zone NOT NULL,
  actor_type actor_type NOT NULL,
  actor_id text,
  action text NOT NULL,
  entity_type text NOT NULL,
  entity_id text,
  changes jsonb NOT NULL,
  request_id text,
  client_ip text,
  user_agent text,
  -- No foreign key to tenants: its check takes a key-share lock on the tenant's row per entry, which
  -- concurrent writers of one tenant turn into multixacts. Sealing drops entries of a deleted tenant.
  CONSTRAINT audit_pending_pk PRIMARY KEY (tenant_id, id)
);--> statement-breakpoint
ALTER TABLE audit_pending ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE audit_pending FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON audit_pending AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY audit_writer ON audit_pending AS PERMISSIVE FOR ALL TO tessera_audit USING (true) WITH CHECK (true);--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON audit_pending TO tessera_audit;--> statement-breakpoint

-- Appending is now one INSERT into audit_pending; the settings are read as before.
CREATE OR REPLACE FUNCTION audit.append(p_tenant uuid, p_action text, p_entity_type text, p_entity_id text, p_changes jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
  INSERT INTO audit_pending (tenant_id, occurred_at, actor_type, actor_id, action, entity_type, entity_id, changes, request_id, client_ip, user_agent)
  VALUES (
    p_tenant, clock_timestamp(),
    coalesce(nullif(current_setting('app.actor_type', true), ''), 'SYSTEM')::actor_type,
    coalesce(nullif(current_setting('app.actor_id', true), ''), CASE WHEN nullif(current_setting('app.actor_type', true), '') IS NULL THEN 'db:' || session_user END),
    p_action, p_entity_type, p_entity_id, coalesce(p_changes, '{}'::jsonb),
    nullif(current_setting('app.request_id', true), ''),
    nullif(current_setting('app.client_ip', true), ''),
    nullif(current_setting('app.user_agent', true), ''));
END $$;--> statement-breakpoint

-- Seals one tenant's committed pending entries (at most p_limit, oldest first) into its chain; returns
-- how many. The head's row lock serializes sealers of a tenant, so seq has no gaps and each entry links
-- to the one sealed before it. Entries keep their recorded time, never earlier than the previous
-- entry's (so a time range still maps to a seq range). Internal: called by seal() and seal_all().
CREATE FUNCTION audit.seal_tenant(p_tenant uuid, p_limit integer DEFAULT 10000) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
  head audit_chain_heads;
  p audit_pending;
  e audit_logs;
  sealed audit_logs[] := '{}';
  ids bigint[] := '{}';
BEGIN
  PERFORM FROM audit_pending WHERE tenant_id = p_tenant LIMIT 1;
  IF NOT FOUND THEN RETURN 0; END IF;
  SELECT * INTO head FROM audit_chain_heads WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT FROM tenants WHERE id = p_tenant) THEN
      DELETE FROM audit_pending WHERE tenant_id = p_tenant;
      RETURN 0;
    END IF;
    INSERT INTO audit_chain_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) VALUES (p_tenant, 0, repeat('0', 64), 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
    SELECT * INTO head FROM audit_chain_heads WHERE tenant_id = p_tenant FOR UPDATE;
  END IF;
  -- A new statement, so a new snapshot: every entry committed before the lock was granted.
  FOR p IN SELECT * FROM audit_pending WHERE tenant_id = p_tenant ORDER BY id LIMIT p_limit LOOP
    e.tenant_id := p_tenant;
    e.seq := head.seq + 1;
    e.occurred_at := greatest(p.occurred_at, head.last_at);
    e.actor_type := p.actor_type;
    e.actor_id := p.actor_id;
    e.action := p.action;
    e.entity_type := p.entity_type;
    e.entity_id := p.entity_id;
    e.changes := p.changes;
    e.request_id := p.request_id;
    e.client_ip := p.client_ip;
    e.user_agent := p.user_agent;
    e.prev_hash := head.hash;
    e.hash := audit.entry_hash(e);
    sealed := sealed || e;
    ids := ids || p.id;
    head.seq := e.seq;
    head.hash := e.hash;
    head.last_at := e.occurred_at;
  END LOOP;
  IF cardinality(ids) = 0 THEN RETURN 0; END IF;
  INSERT INTO audit_logs SELECT * FROM unnest(sealed);
  DELETE FROM audit_pending WHERE tenant_id = p_tenant AND id = ANY (ids);
  UPDATE audit_chain_heads SET seq = head.seq, hash = head.hash, last_at = head.last_at WHERE tenant_id = p_tenant;
  RETURN cardinality(ids);
END $$;--> statement-breakpoint

-- The app role's door: seals the transaction's own tenant (app_begin's app.tenant_id) before it reads
-- the trail. No parameter names a tenant.
CREATE FUNCTION audit.seal() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  n integer := 0;
  k integer;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'audit.seal needs a tenant transaction' USING ERRCODE = '42501'; END IF;
  LOOP
    k := audit.seal_tenant(t);
    n := n + k;
    EXIT WHEN k < 10000;
  END LOOP;
  RETURN n;
END $$;--> statement-breakpoint

-- The worker's sealing pass over every tenant with pending entries (at most p_limit each per call).
-- Cross-tenant by design; it returns only a count.
CREATE FUNCTION audit.seal_all(p_limit integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid;
  n bigint := 0;
BEGIN
  FOR t IN SELECT DISTINCT tenant_id FROM audit_pending LOOP
    n := n + audit.seal_tenant(t, p_limit);
  END LOOP;
  RETURN n;
END $$;--> statement-breakpoint

-- Retention as before (0009), on the sealed trail: each tenant is sealed before its prefix is removed.
CREATE OR REPLACE FUNCTION audit.prune_expired() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t record;
  last_removed record;
  removed bigint;
  total bigint := 0;
BEGIN
  FOR t IN SELECT id, audit_retention_days AS days FROM tenants LOOP
    -- Committed entries first, so the prune sees (and its own entry follows) the whole trail.
    WHILE audit.seal_tenant(t.id) >= 10000 LOOP END LOOP;
    CONTINUE WHEN NOT EXISTS (SELECT FROM audit_logs WHERE tenant_id = t.id AND occurred_at < now() - make_interval(days => t.days));
    PERFORM FROM audit_chain_heads WHERE tenant_id = t.id FOR UPDATE;
    WITH d AS (
      DELETE FROM audit_logs WHERE tenant_id = t.id AND occurred_at < now() - make_interval(days => t.days) RETURNING seq, hash
    )
    SELECT (SELECT count(*) FROM d) AS n, (SELECT seq FROM d ORDER BY seq DESC LIMIT 1) AS seq, (SELECT hash FROM d ORDER BY seq DESC LIMIT 1) AS hash
    INTO last_removed;
    removed := last_removed.n;
    CONTINUE WHEN removed = 0;
    UPDATE audit_chain_heads SET anchor_seq = last_removed.seq, anchor_hash = last_removed.hash WHERE tenant_id = t.id;
    PERFORM audit.append(t.id, 'AUDIT_PRUNED', 'AUDIT_LOG', NULL,
      jsonb_build_object('removedEntries', removed, 'throughSeq', last_removed.seq, 'retentionDays', t.days));
    total := total + removed;
  END LOOP;
  RETURN total;
END $$;--> statement-breakpoint

-- Entries written before this migration are already in the chain; prune_expired and record_event call
-- append() as before (their entries are sealed like any other).
ALTER FUNCTION audit.seal_tenant(uuid, integer) OWNER TO tessera_audit;--> statement-breakpoint
ALTER FUNCTION audit.seal() OWNER TO tessera_audit;--> statement-breakpoint
ALTER FUNCTION audit.seal_all(integer) OWNER TO tessera_audit;--> statement-breakpoint
REVOKE ALL ON FUNCTION audit.seal_tenant(uuid, integer), audit.seal(), audit.seal_all(integer) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit.seal() TO tessera_app;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit.seal_all(integer) TO tessera_system;
