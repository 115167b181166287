-- Security for the SAML flow state (issue 14; ARCHITECTURE invariants 1, 10). Outstanding
-- AuthnRequest ids and accepted assertion ids are flow state like sso_login_attempts (the sign-in
-- itself is an auth event): RLS forced, not audited, pruned as they are written.
ALTER TABLE sso_saml_requests FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE sso_saml_assertions FORCE ROW LEVEL SECURITY;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_saml_requests TO tessera_app;--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON sso_saml_assertions TO tessera_app;
