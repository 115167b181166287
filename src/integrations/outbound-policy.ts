/**
 * Where outbound calls may go (SSRF protection). A tenant ADMIN chooses an integration's base URL,
 * and the server then calls it on health checks, syncs and pushes, so an unchecked URL would let a
 * tenant make our servers call a cloud metadata endpoint, the database or anything else on the
 * internal network. The rule is checked twice:
 *
 *  1. at input (createIntegration / updateIntegration → BAD_USER_INPUT on `baseUrl`): scheme
 *     http(s), no credentials in the URL, no IP literal outside public unicast, no localhost or
 *     metadata host names;
 *  2. at connect time, on every connection the outbound client opens: every address the host name
 *     resolves to must be public unicast (DNS rebinding: a name that resolved to a public address
 *     when it was saved may resolve to 169.254.169.254 now), and an IP literal is checked again
 *     (rows saved before this rule, or an allowlist narrowed since).
 *
 * Public unicast is what ipaddr.js calls `unicast`; everything else is refused: loopback,
 * private (RFC 1918), CGNAT (100.64/10), link-local (169.254/16, fe80::/10, which holds the
 * metadata address 169.254.169.254), unique-local IPv6 (fc00::/7, with fd00:ec2::254), IPv4-mapped
 * and translated IPv6, multicast, broadcast, unspecified (0.0.0.0, ::) and reserved ranges. The
 * operator may allow networks (OUTBOUND_ALLOWED_NETWORKS, CIDRs) or host names
 * (OUTBOUND_ALLOWED_HOSTS); development allows 127.0.0.1 and ::1 by default for the mock providers.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';
import { z } from 'zod';
import { parseNetwork } from '../validation.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Names that always mean "this machine" or a cloud metadata service, whatever DNS says. */
const FORBIDDEN_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

export class OutboundAddressRefused extends Error {
  readonly code = 'OUTBOUND_ADDRESS_REFUSED';
}

export interface OutboundPolicyOptions {
  /** CIDRs (or single addresses) allowed even though they are not public unicast. */
  allowedNetworks: readonly string[];
  /** Host names allowed whatever they resolve to (exact, case-insensitive). */
  allowedHosts: readonly string[];
  /** Connect timeout of the outbound dispatcher. */
  connectTimeoutMs?: number;
}

export class OutboundPolicy {
  private readonly networks: [Address, number][];
  private readonly hosts: Set<string>;
  private agent?: Agent;

  constructor(private readonly options: OutboundPolicyOptions) {
    this.networks = options.allowedNetworks.map(parseNetwork);
    this.hosts = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  }

  /** Why `raw` may not be an integration's base URL, or null when it may. Checks the text only (no DNS). */
  checkUrl(raw: string): string | null {
    // The URL parser drops tabs and newlines (and trims): the text stored must be the URL checked.
    if (/[\s\u0000-\u001f\u007f]/.test(raw)) return 'Must not contain spaces or control characters';
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'Not a URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'Must be an http(s) URL';
    if (url.username || url.password) return 'Must not contain credentials';
    const host = hostOf(url);
    if (!host) return 'Must name a host';
    if (this.hosts.has(host)) return null;
    if (net.isIP(host)) return this.checkAddress(host);
    if (FORBIDDEN_NAMES.has(host) || host.endsWith('.localhost')) return 'Must not point at this machine or a metadata service';
    return null;
  }

  /** Why a connection to `address` is refused, or null when it is allowed. */
  checkAddress(address: string): string | null {
    let ip: Address;
    try {
      ip = ipaddr.parse(address);
    } catch {
      return 'Not an IP address';
    }
    if (this.networks.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))) return null;
    // ::/96 ("IPv4-compatible", deprecated since RFC 4291) carries an IPv4 address that ipaddr.js calls unicast.
    if (ip.kind() === 'ipv6' && ip.match(IPV4_COMPATIBLE[0], IPV4_COMPATIBLE[1])) return `Must not point at an IPv4-compatible IPv6 address (${ip.toString()})`;
    const range = ip.range();
    if (range === 'unicast') return null;
    return `Must not point at a ${range} address (${ip.toString()}); an operator can allow it with OUTBOUND_ALLOWED_NETWORKS`;
  }

  /**
   * The undici dispatcher every outbound request uses: its connector resolves the host itself and
   * refuses the connection unless every resolved address passes checkAddress (an allowed host name
   * skips the check). Nothing is sent to a refused address: the check runs before the socket opens.
   */
  dispatcher(): Agent {
    if (this.agent) return this.agent;
    const lookup: net.LookupFunction = (hostname, opts, callback) => {
      dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 4);
        const allowed = this.hosts.has(hostname.toLowerCase());
        const refused = allowed ? null : addresses.map((a) => this.checkAddress(a.address)).find((r) => r !== null);
        if (refused) return callback(new OutboundAddressRefused(`${hostname}: ${refused}`), '', 4);
        if (opts.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
        const first = addresses[0]!;
        callback(null, first.address, first.family);
      });
    };
    const connect = buildConnector({ lookup, timeout: this.options.connectTimeoutMs } as buildConnector.BuildOptions);
    this.agent = new Agent({
      connect: (opts, callback) => {
        const host = opts.hostname.replace(/^\[|\]$/g, '');
        if (net.isIP(host) && !this.hosts.has(host.toLowerCase())) {
          const refused = this.checkAddress(host);
          if (refused) return callback(new OutboundAddressRefused(`${host}: ${refused}`), null);
        }
        return connect(opts, callback);
      },
    });
    return this.agent;
  }

  async close(): Promise<void> {
    await this.agent?.close().catch(() => undefined);
  }
}

const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** The URL's host, lower case, without IPv6 brackets or a trailing dot. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

/** An outbound URL as an input field: the policy's refusal as the field's message, no trailing slash. It is checked again at connect time. */
export const outboundUrlSchema = (policy: OutboundPolicy) =>
  z
    .string()
    .trim()
    .max(2000, 'At most 2000 characters')
    .superRefine((u, ctx) => {
      const refused = policy.checkUrl(u);
      if (refused) ctx.addIssue({ code: 'custom', message: refused });
    })
    .transform((u) => u.replace(/\/+$/, ''));
