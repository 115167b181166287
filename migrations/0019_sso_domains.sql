CREATE TABLE "tenant_domains" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"domain" text NOT NULL,
	"verified_at" timestamp (3) with time zone,
	"verified_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_domains_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "tenant_domains" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "sso_enforced" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "sso_break_glass" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_domains" ADD CONSTRAINT "tenant_domains_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_domains_tenant_domain_key" ON "tenant_domains" USING btree ("tenant_id","domain");--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_domains_verified_key" ON "tenant_domains" USING btree ("domain") WHERE verified_at is not null;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "tenant_domains" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
-- Email domains and SSO enforcement (issue 14). tenant_domains: RLS forced, audited. The app role
-- may set its tenant's enforcement flag (OWNERs only, checked by the permission map).
ALTER TABLE tenant_domains FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_domains TO tessera_app;--> statement-breakpoint
GRANT UPDATE (sso_enforced) ON tenants TO tessera_app;--> statement-breakpoint
SELECT audit.attach('tenant_domains');--> statement-breakpoint
-- "Sign in with your work email": which tenant verified an email's domain. Cross-tenant by design
-- (an email is all the caller has), answers only the slug of an ACTIVE tenant for a VERIFIED domain.
CREATE FUNCTION platform.sso_tenant_by_domain(p_domain text) RETURNS TABLE (slug text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.slug FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id
  WHERE d.domain = lower(p_domain) AND d.verified_at IS NOT NULL AND t.status = 'ACTIVE'
$$;--> statement-breakpoint
ALTER FUNCTION platform.sso_tenant_by_domain(text) OWNER TO tessera_platform;--> statement-breakpoint
REVOKE ALL ON FUNCTION platform.sso_tenant_by_domain(text) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION platform.sso_tenant_by_domain(text) TO tessera_app;--> statement-breakpoint
GRANT SELECT (tenant_id, domain, verified_at) ON tenant_domains TO tessera_platform;--> statement-breakpoint
CREATE POLICY platform_domain_lookup ON tenant_domains AS PERMISSIVE FOR SELECT TO tessera_platform USING (verified_at IS NOT NULL);
