/**
 * Per-integration webhook source allowlist: when an integration lists networks, only senders whose
 * address (the client IP, from X-Forwarded-For through TRUST_PROXY's proxies, as everywhere) is in
 * one of them may deliver; others get 403 and nothing is stored. Checked on the receiver's cached
 * lookup first, then again by the storing transaction (platform.require_webhook_integration, SQLSTATE
 * TS403), so a list changed a moment ago still holds.
 */
import ipaddr from 'ipaddr.js';
import { parseNetwork } from '../../validation.js';

/** The address as the allowlist sees it: IPv4-mapped IPv6 (::ffff:10.0.0.1) becomes IPv4. */
export function normalizeSourceIp(ip: string | undefined): string | null {
  if (!ip || !ipaddr.isValid(ip)) return null;
  return ipaddr.process(ip).toString();
}

/** True when the list is empty or the sender is in one of its networks. */
export function senderAllowed(ip: string | null, allowed: readonly string[] | null | undefined): boolean {
  if (!allowed?.length) return true;
  if (!ip) return false;
  const addr = ipaddr.parse(ip);
  return allowed.some((n) => {
    const [net, bits] = parseNetwork(n);
    return net.kind() === addr.kind() && addr.match(net, bits);
  });
}

export const isSourceRefused = (err: unknown) => (err as { code?: string } | undefined)?.code === 'TS403';
