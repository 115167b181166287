-- Roles, grants, FORCE RLS and the few functions the request path may call.
-- The app role (tessera_app) is created with its password by the migrator before this runs.

-- FORCE: RLS applies to the table owner too (only superusers and BYPASSRLS roles escape it).
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE users FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE organization_memberships FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;--> statement-breakpoint

GRANT USAGE ON SCHEMA public TO tessera_app;--> statement-breakpoint
GRANT SELECT, UPDATE (name, updated_at) ON tenants TO tessera_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON users, organizations, organization_memberships, refresh_tokens TO tessera_app;--> statement-breakpoint
-- A transaction left open by a crashed request must not hold a connection and its locks forever.
ALTER ROLE tessera_app SET idle_in_transaction_session_timeout = '60s';--> statement-breakpoint

-- Starts a request or job: sets the transaction-local settings RLS and audit read, and returns the
-- tenant's and the user's current status and role, all in one round trip. SECURITY INVOKER: it reads
-- under the caller's RLS, which the settings it just made allow.
CREATE FUNCTION app_begin(settings json)
RETURNS TABLE (tenant_status tenant_status, user_status user_status, user_role tenant_role)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  k text;
BEGIN
  FOREACH k IN ARRAY ARRAY['tenant_id', 'user_id', 'actor_type', 'actor_id', 'request_id', 'client_ip', 'user_agent'] LOOP
    PERFORM set_config('app.' || k, coalesce(settings ->> k, ''), true);
  END LOOP;
  RETURN QUERY
    SELECT t.status, u.status, u.role
    FROM tenants t
    LEFT JOIN users u ON u.tenant_id = t.id AND u.id = nullif(settings ->> 'user_id', '')::uuid
    WHERE t.id = nullif(settings ->> 'tenant_id', '')::uuid;
END $$;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app_begin(json) TO tessera_app;--> statement-breakpoint

-- The platform operator's narrow privileged path: a NOLOGIN role that owns only these functions and
-- is named by the one policy that lets it see across tenants. The app role may EXECUTE them, nothing
-- more; RLS is never switched off for a request.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_platform') THEN CREATE ROLE tessera_platform NOLOGIN; END IF;
END $$;--> statement-breakpoint
GRANT tessera_platform TO current_user;--> statement-breakpoint
CREATE SCHEMA platform;--> statement-breakpoint
GRANT USAGE ON SCHEMA platform TO tessera_app, tessera_platform;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO tessera_platform;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON tenants TO tessera_platform;--> statement-breakpoint
GRANT SELECT, INSERT ON users TO tessera_platform;--> statement-breakpoint
CREATE POLICY platform_access ON tenants AS PERMISSIVE FOR ALL TO tessera_platform USING (true) WITH CHECK (true);--> statement-breakpoint

-- Login: which tenant does a slug name? Returns nothing for unknown slugs.
CREATE FUNCTION platform.tenant_by_slug(p_slug text) RETURNS TABLE (id uuid, status tenant_status)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.status FROM tenants t WHERE t.slug = lower(p_slug)
$$;--> statement-breakpoint

CREATE FUNCTION platform.create_tenant(p_slug text, p_name text, p_plan tenant_plan, p_owner_email text, p_owner_name text, p_owner_password_hash text)
RETURNS tenants LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t tenants;
BEGIN
  INSERT INTO tenants (slug, name, plan) VALUES (lower(p_slug), p_name, p_plan) RETURNING * INTO t;
  -- The owner user is written under the new tenant's context, so the users policy checks it as usual.
  PERFORM set_config('app.tenant_id', t.id::text, true);
  INSERT INTO users (tenant_id, email, name, role, status, password_hash)
    VALUES (t.id, p_owner_email, p_owner_name, 'OWNER', CASE WHEN p_owner_password_hash IS NULL THEN 'INVITED' ELSE 'ACTIVE' END::user_status, p_owner_password_hash);
  RETURN t;
END $$;--> statement-breakpoint

CREATE FUNCTION platform.list_tenants() RETURNS SETOF tenants
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT * FROM tenants ORDER BY created_at, id
$$;--> statement-breakpoint

CREATE FUNCTION platform.set_tenant_status(p_id uuid, p_status tenant_status) RETURNS SETOF tenants
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE tenants SET status = p_status, updated_at = now() WHERE id = p_id RETURNING *
$$;--> statement-breakpoint

CREATE FUNCTION platform.set_tenant_plan(p_id uuid, p_plan tenant_plan) RETURNS SETOF tenants
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE tenants SET plan = p_plan, updated_at = now() WHERE id = p_id RETURNING *
$$;--> statement-breakpoint

DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'platform' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO tessera_platform', f);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO tessera_app', f);
  END LOOP;
END $$;
