CREATE TYPE "public"."import_status" AS ENUM('UPLOADING', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TABLE "import_errors" (
	"tenant_id" uuid NOT NULL,
	"import_job_id" uuid NOT NULL,
	"row_number" integer NOT NULL,
	"code" text NOT NULL,
	"message" text NOT NULL,
	"fields" jsonb,
	CONSTRAINT "import_errors_tenant_id_import_job_id_row_number_pk" PRIMARY KEY("tenant_id","import_job_id","row_number")
);
--> statement-breakpoint
ALTER TABLE "import_errors" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "import_jobs" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"format" text NOT NULL,
	"file_hash" text,
	"status" "import_status" DEFAULT 'UPLOADING' NOT NULL,
	"total_rows" integer DEFAULT 0 NOT NULL,
	"valid_rows" integer DEFAULT 0 NOT NULL,
	"applied_through" integer DEFAULT 0 NOT NULL,
	"created_rows" integer DEFAULT 0 NOT NULL,
	"failed_rows" integer DEFAULT 0 NOT NULL,
	"created_by" uuid NOT NULL,
	"by_api_key" boolean DEFAULT false NOT NULL,
	"role" "tenant_role" NOT NULL,
	"request_id" text,
	"error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "import_jobs_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "import_jobs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "import_rows" (
	"tenant_id" uuid NOT NULL,
	"import_job_id" uuid NOT NULL,
	"row_number" integer NOT NULL,
	"data" jsonb NOT NULL,
	CONSTRAINT "import_rows_tenant_id_import_job_id_row_number_pk" PRIMARY KEY("tenant_id","import_job_id","row_number")
);
--> statement-breakpoint
ALTER TABLE "import_rows" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "import_errors" ADD CONSTRAINT "import_errors_tenant_id_import_job_id_import_jobs_tenant_id_id_fk" FOREIGN KEY ("tenant_id","import_job_id") REFERENCES "public"."import_jobs"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_rows" ADD CONSTRAINT "import_rows_tenant_id_import_job_id_import_jobs_tenant_id_id_fk" FOREIGN KEY ("tenant_id","import_job_id") REFERENCES "public"."import_jobs"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "import_jobs_file_key" ON "import_jobs" USING btree ("tenant_id","file_hash");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "import_errors" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "import_jobs" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "import_rows" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));--> statement-breakpoint
-- Issue 15: user imports. Hand-written below.
ALTER TABLE import_jobs FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE import_rows FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE import_errors FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON import_jobs, import_rows, import_errors TO tessera_app;--> statement-breakpoint
-- The app role may enqueue the import job of its own tenant (0016's list plus 'user-import').
DROP POLICY tenant_jobs ON pgboss.job;--> statement-breakpoint
CREATE POLICY tenant_jobs ON pgboss.job AS PERMISSIVE FOR INSERT TO tessera_app, tessera_ingest
  WITH CHECK (
    data ->> 'tenantId' = (select nullif(current_setting('app.tenant_id', true), ''))
    AND (name IN ('integration-push', 'integration-sync', 'communication-send', 'password-reset-request', 'user-import') OR (name LIKE 'webhooks-%' AND name NOT LIKE '%-dead'))
  );
