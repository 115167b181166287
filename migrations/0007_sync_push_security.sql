-- Sync and push (issue #5): FORCE RLS and the app role's grants for the tables of 0006.

ALTER TABLE sync_runs FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE sync_checkpoints FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE sync_seen_records FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE integration_pushes FORCE ROW LEVEL SECURITY;--> statement-breakpoint

-- Runs and pushes are history: kept (deleting the integration cascades), never deleted by the app.
GRANT SELECT, INSERT, UPDATE ON sync_runs, sync_checkpoints, integration_pushes TO tessera_app;--> statement-breakpoint
-- The seen-set of a FULL run lives only while the run does.
GRANT SELECT, INSERT, DELETE ON sync_seen_records TO tessera_app;
