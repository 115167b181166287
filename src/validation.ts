import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import { badInput, type FieldError } from './errors.js';

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

/**
 * What Postgres can't store, refused at the edge (before any statement) with the field named:
 * text with NUL (text and jsonb refuse U+0000: SQLSTATE 22021 / 22P05), lone UTF-16 surrogates
 * (jsonb refuses their escapes; text would silently get U+FFFD), and timestamps outside years
 * 1–9999 (Postgres' own range is 4713 BC – 294276 AD; nothing real lies beyond 9999, and JavaScript
 * dates past ±275760 are invalid).
 */
export const STORABLE_YEARS = { min: 1, max: 9999 } as const;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why Postgres can't store this text, or undefined. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'Must not contain NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(s)) return 'Must be valid Unicode (no unpaired UTF-16 surrogates)';
  return undefined;
}

/** Why Postgres can't store this instant, or undefined. */
export function dateProblem(d: Date): string | undefined {
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime())) return 'Not a date-time';
  if (year < STORABLE_YEARS.min || year > STORABLE_YEARS.max) return `Year must be between ${STORABLE_YEARS.min} and ${STORABLE_YEARS.max}`;
  return undefined;
}

/** Every string and object key in a JSON value that Postgres can't store, as field errors (at most `max`). */
export function unstorableText(value: unknown, path: string, max = 20): FieldError[] {
  const out: FieldError[] = [];
  const visit = (v: unknown, p: string, depth: number): void => {
    if (out.length >= max) return;
    if (depth > 100) return void out.push({ field: p, message: 'Nested more than 100 levels deep' });
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) out.push({ field: p, message: problem });
    } else if (Array.isArray(v)) v.forEach((item, i) => visit(item, `${p}[${i}]`, depth + 1));
    else if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const keyProblem = textProblem(k);
        if (keyProblem) out.push({ field: `${p}${p ? '.' : ''}${JSON.stringify(k).slice(1, -1)}`, message: `Key: ${keyProblem}` });
        else visit(item, `${p}${p ? '.' : ''}${k}`, depth + 1);
      }
    }
  };
  visit(value, path, 0);
  return out;
}

/** An ISO 8601 date-time with an offset (`2026-01-01T00:00:00Z`), within the storable years. */
export const isoDateTime = z
  .string({ message: 'An ISO 8601 date-time' })
  .pipe(z.iso.datetime({ offset: true, message: 'An ISO 8601 date-time, e.g. 2026-01-01T00:00:00Z' }))
  .transform((s) => new Date(s))
  .refine((d) => !dateProblem(d), { message: `Year must be between ${STORABLE_YEARS.min} and ${STORABLE_YEARS.max}` });
