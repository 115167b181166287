CREATE TYPE "public"."circuit_state" AS ENUM('CLOSED', 'OPEN', 'HALF_OPEN', 'ISOLATED');--> statement-breakpoint
CREATE TYPE "public"."integration_health_status" AS ENUM('HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN');--> statement-breakpoint
CREATE TABLE "integration_call_stats" (
	"tenant_id" uuid NOT NULL,
	"integration_id" uuid NOT NULL,
	"bucket" timestamp (3) with time zone NOT NULL,
	"successes" integer DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "integration_call_stats_tenant_id_integration_id_bucket_pk" PRIMARY KEY("tenant_id","integration_id","bucket")
);
--> statement-breakpoint
ALTER TABLE "integration_call_stats" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "integration_circuits" (
	"tenant_id" uuid NOT NULL,
	"integration_id" uuid NOT NULL,
	"state" "circuit_state" DEFAULT 'CLOSED' NOT NULL,
	"opened_at" timestamp (3) with time zone,
	"reason" text,
	"manual" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_by_process" text,
	CONSTRAINT "integration_circuits_tenant_id_integration_id_pk" PRIMARY KEY("tenant_id","integration_id")
);
--> statement-breakpoint
ALTER TABLE "integration_circuits" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "integration_health" (
	"tenant_id" uuid NOT NULL,
	"integration_id" uuid NOT NULL,
	"status" "integration_health_status" DEFAULT 'UNKNOWN' NOT NULL,
	"reason" text,
	"since" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"signals" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_check_ok" boolean,
	"last_check_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integration_health_tenant_id_integration_id_pk" PRIMARY KEY("tenant_id","integration_id")
);
--> statement-breakpoint
ALTER TABLE "integration_health" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "integration_health_changes" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"integration_id" uuid NOT NULL,
	"status" "integration_health_status" NOT NULL,
	"previous_status" "integration_health_status",
	"reason" text,
	"signals" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"changed_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integration_health_changes_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "integration_health_changes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "integration_call_stats" ADD CONSTRAINT "integration_call_stats_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_circuits" ADD CONSTRAINT "integration_circuits_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_health" ADD CONSTRAINT "integration_health_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_health_changes" ADD CONSTRAINT "integration_health_changes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "integration_health_status_idx" ON "integration_health" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE INDEX "integration_health_changes_integration_idx" ON "integration_health_changes" USING btree ("tenant_id","integration_id","changed_at");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "integration_call_stats" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "integration_circuits" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "integration_health" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "integration_health_changes" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));