-- Issue 11 §1 and §4 (after 0011's least-privilege roles: the webhook functions stay the receiver's, tessera_ingest).

-- Live credentials on open WebSockets: a change to who someone is (user status or role, tenant
-- status, a session ended by logout or token reuse) notifies channel tessera_principals with ids
-- only. Listeners treat a notification as "re-read this principal": the tables decide, so a forged
-- notification costs one re-read and changes nothing. Postgres sends it at COMMIT only.
-- (Not the events channel that 0011 secures: nothing here is trusted as a fact.)
CREATE FUNCTION notify_principal_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_TABLE_NAME = 'tenants' THEN
    PERFORM pg_notify('tessera_principals', json_build_object('kind', 'tenant', 'tenantId', OLD.id)::text);
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('tessera_principals', json_build_object('kind', 'user', 'tenantId', OLD.tenant_id, 'userId', OLD.id)::text);
  ELSE
    PERFORM pg_notify('tessera_principals', json_build_object('kind', 'session', 'tenantId', OLD.tenant_id, 'userId', OLD.user_id, 'sessionId', OLD.family_id)::text);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER tenants_principal_changed AFTER UPDATE OF status ON tenants
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint
CREATE TRIGGER tenants_principal_deleted AFTER DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint
CREATE TRIGGER users_principal_changed AFTER UPDATE OF status, role ON users
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint
CREATE TRIGGER users_principal_deleted AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint
-- Identical notifications in one transaction are sent once: revoking a family's many rows is one.
CREATE TRIGGER refresh_tokens_session_ended AFTER UPDATE OF revoked_at ON refresh_tokens
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint
CREATE TRIGGER refresh_tokens_session_deleted AFTER DELETE ON refresh_tokens
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL) EXECUTE FUNCTION notify_principal_change();--> statement-breakpoint

-- Webhook source allowlist: the lookup returns it (the receiver refuses other senders before it
-- verifies anything), and the storing transaction checks the senders again, so a list changed a
-- moment ago (the receiver keeps lookups for a few seconds) stores nothing from a sender it excludes.
-- SQLSTATE TS403: a sender is not on the list (answer 403).
DROP FUNCTION platform.require_webhook_integration(uuid, text[]);--> statement-breakpoint
DROP FUNCTION platform.webhook_integration(uuid);--> statement-breakpoint
CREATE FUNCTION platform.webhook_integration(p_id uuid)
RETURNS TABLE (tenant_id uuid, provider integration_provider, usable boolean, secret_encrypted text, previous_secret_encrypted text, allowed_sources cidr[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.tenant_id, i.provider, i.enabled AND t.status = 'ACTIVE', i.webhook_secret_encrypted,
         CASE WHEN i.previous_secret_expires_at > now() THEN i.previous_webhook_secret_encrypted END,
         i.webhook_allowed_sources
  FROM integrations i JOIN tenants t ON t.id = i.tenant_id
  WHERE i.id = p_id
$$;--> statement-breakpoint
ALTER FUNCTION platform.webhook_integration(uuid) OWNER TO tessera_platform;--> statement-breakpoint
REVOKE ALL ON FUNCTION platform.webhook_integration(uuid) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.webhook_integration(uuid) TO tessera_ingest;--> statement-breakpoint
CREATE FUNCTION platform.require_webhook_integration(p_id uuid, p_secrets text[], p_sources inet[])
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  i record;
BEGIN
  SELECT * INTO i FROM platform.webhook_integration(p_id);
  -- As in 0011: also unknown from a session of another tenant.
  IF NOT coalesce(i.usable, false) OR i.tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'integration % is unknown or disabled', p_id USING ERRCODE = 'TS404';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_secrets) s
             WHERE s IS DISTINCT FROM i.secret_encrypted AND s IS DISTINCT FROM i.previous_secret_encrypted) THEN
    RAISE EXCEPTION 'a webhook secret of integration % is no longer valid', p_id USING ERRCODE = 'TS401';
  END IF;
  IF cardinality(i.allowed_sources) > 0 AND EXISTS (
    SELECT 1 FROM unnest(p_sources) src WHERE src IS NULL OR NOT EXISTS (SELECT 1 FROM unnest(i.allowed_sources) n WHERE src <<= n)) THEN
    RAISE EXCEPTION 'a sender is not on the source allowlist of integration %', p_id USING ERRCODE = 'TS403';
  END IF;
END
$$;--> statement-breakpoint
ALTER FUNCTION platform.require_webhook_integration(uuid, text[], inet[]) OWNER TO tessera_platform;--> statement-breakpoint
REVOKE ALL ON FUNCTION platform.require_webhook_integration(uuid, text[], inet[]) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.require_webhook_integration(uuid, text[], inet[]) TO tessera_ingest;
