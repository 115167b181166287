-- SSO flow state is pruned as it is written (issue 14): each new sign-in deletes its tenant's
-- attempts and codes that expired over an hour ago, so the tables stay as small as the traffic.
GRANT DELETE ON sso_login_attempts, sso_login_codes TO tessera_app;
