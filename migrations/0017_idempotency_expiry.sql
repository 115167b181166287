DROP INDEX "idempotency_records_expiry_idx";--> statement-breakpoint
CREATE INDEX "idempotency_records_expiry_idx" ON "idempotency_records" USING btree ("tenant_id","expires_at");