import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import { badInput } from './errors.js';

/** Parses service input; every failing field is reported at once as BAD_USER_INPUT details. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw badInput(result.error.issues.map((i) => ({ field: i.path.join('.') || 'input', message: i.message })));
}

/** Shared field rules, so every input that takes a name or password means the same thing. */
export const fields = {
  name: z.string().trim().min(1, 'Must not be empty').max(200, 'At most 200 characters'),
  description: z.string().trim().max(2000, 'At most 2000 characters'),
  email: z.string().trim().toLowerCase().max(254).email('Not an email address'),
  password: z.string().min(10, 'At least 10 characters').max(200, 'At most 200 characters'),
  search: z.string().trim().max(100, 'At most 100 characters'),
  slug: z.string().regex(/^[a-z][a-z0-9-]{2,39}$/, '3–40 characters: a-z, 0-9 and -, starting with a letter'),
};

/** "10.0.0.0/8", "::1/128" or a single address ("127.0.0.1" = /32), parsed by ipaddr.js. Throws on anything else. */
export function parseNetwork(s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const v = s.trim();
  if (v.includes('/')) return ipaddr.parseCIDR(v);
  if (!ipaddr.isValid(v) || (v.includes('.') && !v.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(v))) throw new Error(`Not an IP address: ${v}`);
  const ip = ipaddr.parse(v);
  return [ip, ip.kind() === 'ipv4' ? 32 : 128];
}

/** True when parseNetwork accepts `s`. */
export function isNetwork(s: string): boolean {
  try {
    parseNetwork(s);
    return true;
  } catch {
    return false;
  }
}
