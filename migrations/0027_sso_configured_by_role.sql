-- Who an SSO connection may sign in (issue 14: "never OWNER unless the OWNER configured it").
-- An identity provider can assert any email and subject it likes, so whoever points a connection at
-- one can sign in as any account it links to. The connection keeps the role of whoever last changed
-- what it trusts (the IdP's settings, roles, IdP-initiated sign-ins), and signs in no account above
-- that role: an ADMIN's connection can't become an OWNER's account. Rows from before: ADMIN (an
-- OWNER re-saving the connection lifts it).
ALTER TABLE sso_connections ADD COLUMN configured_by_role tenant_role NOT NULL DEFAULT 'ADMIN';
