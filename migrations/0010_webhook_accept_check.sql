-- The webhook receiver keeps each integration's secrets in memory for a few seconds (verifying a
-- signature needs them before any transaction), so the storing transaction checks again, pipelined
-- before its inserts, that the integration may still receive and that the secrets the signatures
-- were verified with are still valid: a delivery to an integration disabled, deleted or suspended a
-- moment ago, or signed with a secret rotated out a moment ago, stores nothing.
-- SQLSTATE TS404: the integration may not receive (answer 404); TS401: a secret is no longer valid (401).
CREATE FUNCTION platform.require_webhook_integration(p_id uuid, p_secrets text[])
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  i record;
BEGIN
  SELECT * INTO i FROM platform.webhook_integration(p_id);
  IF NOT coalesce(i.usable, false) THEN
    RAISE EXCEPTION 'integration % is unknown or disabled', p_id USING ERRCODE = 'TS404';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_secrets) s
             WHERE s IS DISTINCT FROM i.secret_encrypted AND s IS DISTINCT FROM i.previous_secret_encrypted) THEN
    RAISE EXCEPTION 'a webhook secret of integration % is no longer valid', p_id USING ERRCODE = 'TS401';
  END IF;
END
$$;--> statement-breakpoint
ALTER FUNCTION platform.require_webhook_integration(uuid, text[]) OWNER TO tessera_platform;--> statement-breakpoint
REVOKE ALL ON FUNCTION platform.require_webhook_integration(uuid, text[]) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.require_webhook_integration(uuid, text[]) TO tessera_app;
