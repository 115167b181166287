/**
 * Which tenant an unauthenticated request names (login, password reset, SSO). One order of
 * precedence, first match wins:
 *
 *   1. the operation's own `tenantSlug` argument, when given;
 *   2. the `X-Tenant` header (a slug);
 *   3. the host: `<slug>.<TENANT_BASE_DOMAIN>` when TENANT_BASE_DOMAIN is set (one label, the port ignored).
 *
 * A source that is present but malformed is refused (BAD_USER_INPUT), never skipped, so a typo can't
 * silently fall through to another tenant. Authenticated requests ignore all three: their tenant is
 * the one in the verified token. Operations that carry a token naming its tenant (acceptInvitation,
 * resetPassword…) refuse it when the request's address names another tenant.
 */
import { badInput } from '../errors.js';

export interface TenantAddress {
  /** The `X-Tenant` header, as sent. */
  header?: string | undefined;
  /** The `Host` header, as sent. */
  host?: string | undefined;
}

// As tenant slugs are made (src/validation.ts fields.slug).
const SLUG = /^[a-z][a-z0-9-]{2,39}$/;

export function tenantSlugFrom(address: TenantAddress, baseDomain: string | undefined, explicit?: string | null): string | undefined {
  // The argument is the operation's own input: it validates it as it always has (login: any unknown slug is a failed login).
  if (explicit !== undefined && explicit !== null) return explicit;
  if (address.header !== undefined) return checked(address.header, 'X-Tenant');
  if (baseDomain && address.host) {
    const host = address.host.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
    const suffix = `.${baseDomain}`;
    if (host.endsWith(suffix)) {
      const label = host.slice(0, -suffix.length);
      // Deeper names (a.b.<base>) and the base domain itself name no tenant.
      if (SLUG.test(label)) return label;
    }
  }
  return undefined;
}

function checked(value: string, field: string): string {
  const slug = value.trim().toLowerCase();
  if (!SLUG.test(slug)) throw badInput([{ field, message: 'Not a tenant slug (3–40 characters: a-z, 0-9 and -, starting with a letter)' }]);
  return slug;
}
