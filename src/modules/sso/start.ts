import type { RequestInfo } from '../../db/tenant-transaction.js';
import { startOidcSignIn } from './oidc-flow.js';
import { startSamlSignIn } from './saml-flow.js';
import { findStartConnection, type SsoDeps, type StartInput } from './sign-in.js';

/** GET /auth/sso/start: the tenant's connection, then its protocol's first step. `state` is for the OIDC cookie. */
export async function startSignIn(deps: SsoDeps, input: StartInput, request: RequestInfo): Promise<{ redirectTo: string; state?: string }> {
  const { tenantId, conn, hint } = await findStartConnection(deps, input, request);
  return conn.protocol === 'SAML' ? startSamlSignIn(deps, tenantId, conn, hint, request) : startOidcSignIn(deps, tenantId, conn, hint, request);
}
