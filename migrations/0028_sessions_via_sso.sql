-- Sessions started through single sign-on (issue 14). When a tenant enforces SSO, the sessions its
-- people started with a password end at once (break-glass OWNERs excepted), and such a session can't
-- be refreshed later either: enforcement means "only through the identity provider", not "only for
-- new logins". Sessions from before: password ones (false), the safe reading.
ALTER TABLE sessions ADD COLUMN via_sso boolean NOT NULL DEFAULT false;
