-- Audit trail and rate limits (issue #3): FORCE RLS and grants for the tables of 0004, the audit
-- trigger and its helpers, auth events, chain verification, pruning, and the rate-limit counters.
--
-- Who may do what:
--   tessera_audit (NOLOGIN) owns the audit.* functions that write audit rows; like tessera_platform,
--   it is named by the one policy that lets it write across tenants. The app role may only SELECT
--   audit rows (under RLS) and EXECUTE record_event / prune_expired: it can never UPDATE or DELETE
--   an audit row, and it can only add rows through the trigger path and the auth-event function.
--
-- To audit a new tenant table (one line, in that table's migration):
--   SELECT audit.attach('my_table');             -- tenant column 'tenant_id', entity id = the PK minus tenant_id
-- tests/rls-catalog.test.ts fails for a tenant table that has neither the trigger nor an allowlist entry.

ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY;--> statement-breakpoint

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_audit') THEN CREATE ROLE tessera_audit NOLOGIN; END IF;
END $$;--> statement-breakpoint
GRANT tessera_audit TO current_user;--> statement-breakpoint
CREATE SCHEMA audit;--> statement-breakpoint
GRANT USAGE ON SCHEMA audit TO tessera_app, tessera_audit;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO tessera_audit;--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON audit_logs TO tessera_audit;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO tessera_audit;--> statement-breakpoint
GRANT SELECT (id, audit_retention_days) ON tenants TO tessera_audit;--> statement-breakpoint
CREATE POLICY audit_writer ON audit_logs AS PERMISSIVE FOR ALL TO tessera_audit USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY audit_writer ON audit_chain_heads AS PERMISSIVE FOR ALL TO tessera_audit USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY audit_reader ON tenants AS PERMISSIVE FOR SELECT TO tessera_audit USING (true);--> statement-breakpoint

-- Append-only for the app role: it reads its tenant's entries (and chain head, to verify) and nothing more.
GRANT SELECT ON audit_logs, audit_chain_heads TO tessera_app;--> statement-breakpoint
-- Retention is a tenant setting its OWNER may change (updateTenant).
GRANT SELECT (audit_retention_days), UPDATE (audit_retention_days) ON tenants TO tessera_app;--> statement-breakpoint

-- The chain hash of one entry: sha256 over the previous hash and a canonical JSON array of its
-- fields (jsonb text is canonical: key order and spacing are normalized). Time in UTC, microseconds.
-- No SET clause (it names only pg_catalog functions): so the planner inlines it into the appender's
-- cached plan instead of planning a SQL function on every call (~0.5 ms per entry).
CREATE FUNCTION audit.entry_hash(e audit_logs) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(e.prev_hash || jsonb_build_array(
    e.tenant_id, e.seq, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e.actor_type, e.actor_id, e.action, e.entity_type, e.entity_id, e.changes, e.request_id, e.client_ip, e.user_agent
  )::text, 'UTF8')), 'hex')
$$;--> statement-breakpoint

-- Appends one entry to a tenant's chain. The head row's lock serializes appends per tenant until the
-- transaction ends, so seq has no gaps and each entry links to the one committed before it. The actor
-- and request come from the transaction settings app_begin made; none (raw SQL as the owner,
-- migrations) means SYSTEM with the database user as the actor id.
-- Called only by the SECURITY DEFINER entry points below (row_change, record_event, prune_expired),
-- which already run as tessera_audit with a fixed search_path: no SET clause of its own, which would
-- cost a configuration save and restore on every entry. Not executable by anyone else.
CREATE FUNCTION audit.append(p_tenant uuid, p_action text, p_entity_type text, p_entity_id text, p_changes jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
  head audit_chain_heads;
  e audit_logs;
BEGIN
  SELECT * INTO head FROM audit_chain_heads WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO audit_chain_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) VALUES (p_tenant, 0, repeat('0', 64), 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
    SELECT * INTO head FROM audit_chain_heads WHERE tenant_id = p_tenant FOR UPDATE;
  END IF;
  e.tenant_id := p_tenant;
  e.seq := head.seq + 1;
  -- Never earlier than the previous entry, so a time range maps to a seq range.
  e.occurred_at := greatest(clock_timestamp(), head.last_at);
  e.actor_type := coalesce(nullif(current_setting('app.actor_type', true), ''), 'SYSTEM')::actor_type;
  e.actor_id := coalesce(nullif(current_setting('app.actor_id', true), ''), CASE WHEN nullif(current_setting('app.actor_type', true), '') IS NULL THEN 'db:' || session_user END);
  e.action := p_action;
  e.entity_type := p_entity_type;
  e.entity_id := p_entity_id;
  e.changes := coalesce(p_changes, '{}'::jsonb);
  e.request_id := nullif(current_setting('app.request_id', true), '');
  e.client_ip := nullif(current_setting('app.client_ip', true), '');
  e.user_agent := nullif(current_setting('app.user_agent', true), '');
  e.prev_hash := head.hash;
  e.hash := audit.entry_hash(e);
  INSERT INTO audit_logs VALUES (e.*);
  UPDATE audit_chain_heads SET seq = e.seq, hash = e.hash, last_at = e.occurred_at WHERE tenant_id = p_tenant;
END $$;--> statement-breakpoint

-- Columns never recorded by value, by name: password hashes, token hashes, secrets, credentials,
-- keys, anything encrypted. A change to one is recorded as { "redacted": true }.
CREATE FUNCTION audit.is_redacted(col text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT col ~ '(password|passphrase|secret|token|credential|private_key|api_key|encrypted|cipher|signing_key|(^|_)hash$)'
$$;--> statement-breakpoint

-- The row trigger: TG_ARGV[0] is the tenant column, TG_ARGV[1] the entity id columns (comma-separated).
-- Records only what changed (an UPDATE that changes nothing but updated_at is not recorded).
CREATE FUNCTION audit.row_change() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  cur jsonb := coalesce(new_row, old_row);
  diff jsonb := '{}';
  k text;
BEGIN
  FOR k IN SELECT jsonb_object_keys(cur) LOOP
    CONTINUE WHEN k = TG_ARGV[0] OR (TG_OP = 'UPDATE' AND (old_row -> k) IS NOT DISTINCT FROM (new_row -> k));
    IF audit.is_redacted(k) THEN
      diff := diff || jsonb_build_object(k, jsonb_build_object('redacted', true));
    ELSIF TG_OP = 'INSERT' THEN
      diff := diff || jsonb_build_object(k, jsonb_build_object('new', new_row -> k));
    ELSIF TG_OP = 'DELETE' THEN
      diff := diff || jsonb_build_object(k, jsonb_build_object('old', old_row -> k));
    ELSE
      diff := diff || jsonb_build_object(k, jsonb_build_object('old', old_row -> k, 'new', new_row -> k));
    END IF;
  END LOOP;
  IF TG_OP = 'UPDATE' AND (diff - 'updated_at') = '{}'::jsonb THEN RETURN NULL; END IF;
  PERFORM audit.append(
    (cur ->> TG_ARGV[0])::uuid, TG_OP, TG_TABLE_NAME,
    (SELECT string_agg(cur ->> c, ':') FROM unnest(string_to_array(TG_ARGV[1], ',')) c),
    diff);
  RETURN NULL;
END $$;--> statement-breakpoint

-- One line per audited table: creates (or recreates) the row trigger with the table's key columns.
-- A constraint trigger, DEFERRED: it still runs inside the transaction (at COMMIT, with the OLD/NEW
-- rows and settings of the change; a rolled-back savepoint drops its events), but the tenant's chain
-- head is then locked only for the commit itself, not for the rest of a request's transaction, so
-- concurrent writers of one tenant are not serialized for the length of their requests.
CREATE FUNCTION audit.attach(p_table regclass, p_tenant_column text DEFAULT 'tenant_id') RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
  key_cols text;
BEGIN
  SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum)) INTO key_cols
  FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
  WHERE i.indrelid = p_table AND i.indisprimary AND a.attname <> p_tenant_column;
  EXECUTE format('DROP TRIGGER IF EXISTS audit_row_change ON %s', p_table);
  EXECUTE format('CREATE CONSTRAINT TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON %s DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit.row_change(%L, %L)',
    p_table, p_tenant_column, coalesce(key_cols, p_tenant_column));
END $$;--> statement-breakpoint

-- Authentication events, recorded in the tenant of the current transaction (app_begin's app.tenant_id).
-- Only these actions: the app role can't forge row-change entries through this door.
CREATE FUNCTION audit.record_event(p_action text, p_entity_type text, p_entity_id text, p_details jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'audit.record_event needs a tenant transaction' USING ERRCODE = '42501'; END IF;
  IF p_action NOT IN ('LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'SESSION_REFRESHED', 'REFRESH_TOKEN_REUSED', 'LOGOUT') THEN
    RAISE EXCEPTION 'not an auth event: %', p_action USING ERRCODE = '22023';
  END IF;
  PERFORM audit.append(t, p_action, p_entity_type, p_entity_id, p_details);
END $$;--> statement-breakpoint

-- Verifies a tenant's chain from its anchor (the last pruned entry, or the zero hash) to its head; with
-- p_from, from that entry on (trusting the one before it, as an anchor) -- a full check reads and
-- hashes every entry (tens of seconds per million), so large tenants check recent ranges.
-- Reports the first entry where it breaks: ENTRY_ALTERED (its hash doesn't match its content),
-- LINK_BROKEN (its prev_hash isn't the previous entry's hash), ENTRY_MISSING (a gap in seq),
-- CHAIN_START_MISMATCH (first entry doesn't follow the anchor), TAIL_MISMATCH (entries after it are
-- gone or the head was moved). SECURITY INVOKER: reads under the caller's RLS.
CREATE FUNCTION audit.verify_chain(p_tenant uuid, p_from bigint DEFAULT NULL)
RETURNS TABLE (ok boolean, checked_entries bigint, first_broken_seq bigint, reason text)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  head audit_chain_heads;
  n bigint;
  bad record;
  last_entry record;
  anchor_seq bigint;
  anchor_hash text;
BEGIN
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

-- Retention: removes each tenant's entries older than its audit_retention_days. What is removed is
-- always a prefix of the chain (time never decreases along it); the last removed entry becomes the
-- anchor the first remaining one is checked against, and the prune itself is appended as an entry.
CREATE FUNCTION audit.prune_expired() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t record;
  last_removed record;
  removed bigint;
  total bigint := 0;
BEGIN
  FOR t IN SELECT id, audit_retention_days AS days FROM tenants LOOP
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

DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'audit' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO tessera_audit', f);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $$;--> statement-breakpoint
-- attach() runs DDL: it stays with the migrating owner.
ALTER FUNCTION audit.attach(regclass, text) OWNER TO current_user;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit.record_event(text, text, text, jsonb), audit.verify_chain(uuid, bigint), audit.prune_expired(), audit.entry_hash(audit_logs), audit.is_redacted(text) TO tessera_app;--> statement-breakpoint

-- Audited tables. Not audited (see AUDIT_ALLOWLIST in tests/rls-catalog.test.ts for the reasons):
-- audit_logs, audit_chain_heads, refresh_tokens, integration_call_stats, integration_health,
-- integration_health_changes, webhook_events, sync_runs, sync_checkpoints, sync_seen_records,
-- integration_pushes.
SELECT audit.attach('tenants', 'id');--> statement-breakpoint
SELECT audit.attach('users');--> statement-breakpoint
SELECT audit.attach('organizations');--> statement-breakpoint
SELECT audit.attach('organization_memberships');--> statement-breakpoint
SELECT audit.attach('integration_circuits');--> statement-breakpoint
SELECT audit.attach('integrations');--> statement-breakpoint
SELECT audit.attach('subscriptions');--> statement-breakpoint
SELECT audit.attach('invoices');--> statement-breakpoint
SELECT audit.attach('billing_status');--> statement-breakpoint
SELECT audit.attach('notification_deliveries');--> statement-breakpoint

-- Rate-limit counters (not tenant data: keys are hashed identities). UNLOGGED: no WAL and no fsync per
-- hit; after a crash the counters start empty, which only forgives the current window. One fixed-window
-- row per key, incremented and read in one statement (src/auth/rate-limit-store.ts).
CREATE UNLOGGED TABLE rate_limit_counters (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL,
  PRIMARY KEY (key, window_start)
);--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_counters TO tessera_app;
