-- app_begin with fewer statements (issue 16): every request and job starts with it, and each
-- statement inside a plpgsql function is an executor run of its own. The seven settings are set in
-- one statement (were seven); a user's token reads the tenant, the user and whether its session still
-- lives in one statement (were two), and the answer is returned without another query. Same
-- behaviour, signature and grants as 0022.
CREATE OR REPLACE FUNCTION app_begin(settings json)
RETURNS TABLE (tenant_status tenant_status, user_status user_status, user_role tenant_role)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  p_tenant uuid := nullif(settings ->> 'tenant_id', '')::uuid;
  p_key uuid := nullif(settings ->> 'api_key_id', '')::uuid;
  by_key boolean := settings ->> 'actor_type' = 'API_KEY';
  ip text := nullif(settings ->> 'client_ip', '');
  p_session uuid := nullif(settings ->> 'session_id', '')::uuid;
  r record;
BEGIN
  PERFORM set_config('app.tenant_id', coalesce(settings ->> 'tenant_id', ''), true),
          set_config('app.user_id', coalesce(settings ->> 'user_id', ''), true),
          set_config('app.actor_type', coalesce(settings ->> 'actor_type', ''), true),
          set_config('app.actor_id', coalesce(settings ->> 'actor_id', ''), true),
          set_config('app.request_id', coalesce(settings ->> 'request_id', ''), true),
          set_config('app.client_ip', coalesce(settings ->> 'client_ip', ''), true),
          set_config('app.user_agent', coalesce(settings ->> 'user_agent', ''), true);
  IF p_key IS NULL THEN
    IF p_session IS NULL THEN
      -- No session named (jobs, the webhook receiver): refresh_tokens is not read, so roles that never
      -- pass a session (ingest) need no grant on it.
      SELECT t.status AS ts, u.status AS us, u.role AS ur, true AS live INTO r
        FROM tenants t LEFT JOIN users u ON u.tenant_id = t.id AND u.id = nullif(settings ->> 'user_id', '')::uuid
        WHERE t.id = p_tenant;
    ELSE
      -- An access token names its session (the refresh-token family, claim sid): once the session is
      -- ended (logout, revokeSession, password reset, refresh-token reuse) no live refresh token is
      -- left, and the token acts as nobody at once instead of until it expires.
      SELECT t.status AS ts, u.status AS us, u.role AS ur,
             EXISTS (SELECT 1 FROM refresh_tokens rt WHERE rt.tenant_id = p_tenant AND rt.family_id = p_session AND rt.revoked_at IS NULL) AS live
        INTO r
        FROM tenants t LEFT JOIN users u ON u.tenant_id = t.id AND u.id = nullif(settings ->> 'user_id', '')::uuid
        WHERE t.id = p_tenant;
    END IF;
    IF NOT FOUND THEN RETURN; END IF;
    tenant_status := r.ts;
    IF r.live THEN
      user_status := r.us;
      user_role := r.ur;
    ELSE
      PERFORM set_config('app.actor_id', '', true);
    END IF;
    RETURN NEXT;
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
  tenant_status := r.tenant_status;
  user_status := (CASE WHEN r.id IS NULL THEN NULL WHEN r.live THEN 'ACTIVE' ELSE 'DEACTIVATED' END)::user_status;
  user_role := r.role;
  RETURN NEXT;
END $$;
