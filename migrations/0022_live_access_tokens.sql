-- Live access tokens over HTTP (issues 11 and 13): app_begin refuses a user's access token whose
-- session has ended. Same signature, grants unchanged.
CREATE OR REPLACE FUNCTION app_begin(settings json)
RETURNS TABLE (tenant_status tenant_status, user_status user_status, user_role tenant_role)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  k text;
  p_tenant uuid := nullif(settings ->> 'tenant_id', '')::uuid;
  p_key uuid := nullif(settings ->> 'api_key_id', '')::uuid;
  by_key boolean := settings ->> 'actor_type' = 'API_KEY';
  ip text := nullif(settings ->> 'client_ip', '');
  p_session uuid := nullif(settings ->> 'session_id', '')::uuid;
  r record;
BEGIN
  FOREACH k IN ARRAY ARRAY['tenant_id', 'user_id', 'actor_type', 'actor_id', 'request_id', 'client_ip', 'user_agent'] LOOP
    PERFORM set_config('app.' || k, coalesce(settings ->> k, ''), true);
  END LOOP;
  IF p_key IS NULL THEN
    -- An access token names its session (the refresh-token family, claim sid): once the session is
    -- ended (logout, revokeSession, password reset, refresh-token reuse) no live refresh token is left,
    -- and the token acts as nobody at once instead of until it expires. Its own statement, so roles
    -- that never pass a session (ingest) need no grant on refresh_tokens.
    IF p_session IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM refresh_tokens rt WHERE rt.tenant_id = p_tenant AND rt.family_id = p_session AND rt.revoked_at IS NULL
    ) THEN
      PERFORM set_config('app.actor_id', '', true);
      RETURN QUERY SELECT t.status, NULL::user_status, NULL::tenant_role FROM tenants t WHERE t.id = p_tenant;
      RETURN;
    END IF;
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
END $$;
