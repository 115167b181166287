-- Integration health (issue #5): FORCE RLS and the app role's grants for the tables of 0002.
-- TODO(merge): FK to integrations — add composite FKs (tenant_id, integration_id) REFERENCES
-- integrations (tenant_id, id) ON DELETE CASCADE on integration_circuits, integration_call_stats,
-- integration_health and integration_health_changes once the integrations table exists.

ALTER TABLE integration_circuits FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE integration_call_stats FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE integration_health FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE integration_health_changes FORCE ROW LEVEL SECURITY;--> statement-breakpoint

GRANT SELECT, INSERT, UPDATE ON integration_circuits, integration_health TO tessera_app;--> statement-breakpoint
-- Old buckets are pruned by the app (DELETE) so the window query stays cheap.
GRANT SELECT, INSERT, UPDATE, DELETE ON integration_call_stats TO tessera_app;--> statement-breakpoint
-- History is append-only for the app role.
GRANT SELECT, INSERT ON integration_health_changes TO tessera_app;
