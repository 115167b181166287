/**
 * The SCIM 2.0 wire format (RFC 7643 resources, RFC 7644 protocol) as far as Tessera speaks it:
 * schema URNs, the list response, filters (`attr eq "value"`), paging and PATCH operations.
 * Nothing here touches the database.
 */
import { AppError } from '../../errors.js';

export const SCHEMAS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/** RFC 7644 §3.12 scimType values we answer with. */
export type ScimType = 'invalidFilter' | 'invalidValue' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'uniqueness' | 'mutability' | 'tooMany';

/** A refusal with its SCIM detail type; travels through the one error pipeline as any AppError. */
export const scimError = (code: 'BAD_USER_INPUT' | 'CONFLICT' | 'FORBIDDEN', scimType: ScimType, message: string) =>
  new AppError(code, message, code === 'BAD_USER_INPUT' ? { scimType, fields: [{ field: 'scim', message }] } : { scimType });

export interface ListResponse<T> {
  schemas: [typeof SCHEMAS.list];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: T[];
}

export const MAX_COUNT = 200;

/** `startIndex` (1-based, values below 1 mean 1) and `count` (default and maximum MAX_COUNT; negative means 0), RFC 7644 §3.4.2.4. */
export function paging(query: { startIndex?: unknown; count?: unknown }): { offset: number; limit: number; startIndex: number } {
  const int = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (typeof v !== 'string' || !/^-?\d{1,9}$/.test(v) || !Number.isSafeInteger(n)) throw scimError('BAD_USER_INPUT', 'invalidValue', `${name} must be an integer`);
    return n;
  };
  const startIndex = Math.max(1, int(query.startIndex, 'startIndex') ?? 1);
  const count = Math.min(MAX_COUNT, Math.max(0, int(query.count, 'count') ?? MAX_COUNT));
  return { offset: startIndex - 1, limit: count, startIndex };
}

/** One filter Tessera answers: `<attribute> eq "<value>"` on an attribute the resource allows. */
export interface EqFilter<A extends string> {
  attribute: A;
  value: string;
}

/**
 * Parses `filter`: the `eq` comparisons identity providers use to find a resource before creating
 * it (`userName eq "a@b.c"`, `externalId eq "…"`, `displayName eq "…"`). Anything else is refused
 * as invalidFilter rather than answered wrongly. Attribute names are case-insensitive (RFC 7643 §2.1).
 */
export function parseFilter<A extends string>(filter: unknown, allowed: readonly A[]): EqFilter<A> | undefined {
  if (filter === undefined || filter === '') return undefined;
  if (typeof filter !== 'string' || filter.length > 1000) throw scimError('BAD_USER_INPUT', 'invalidFilter', 'filter must be a string of at most 1000 characters');
  const m = /^\s*([A-Za-z][\w.:-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(filter);
  const attribute = m && allowed.find((a) => a.toLowerCase() === m[1]!.toLowerCase());
  if (!m || !attribute) throw scimError('BAD_USER_INPUT', 'invalidFilter', `Supported filters: ${allowed.map((a) => `${a} eq "…"`).join(', ')}`);
  let value: string;
  try {
    value = JSON.parse(`"${m[2]}"`) as string;
  } catch {
    throw scimError('BAD_USER_INPUT', 'invalidFilter', 'The filter value is not a valid string');
  }
  return { attribute, value };
}

/** One PATCH operation, normalised: `op` lower-cased, `path` as given (or undefined). */
export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

/** The body of a PATCH request (RFC 7644 §3.5.2). */
export function parsePatch(body: unknown): PatchOperation[] {
  const b = body as { schemas?: unknown; Operations?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.schemas) || !b.schemas.includes(SCHEMAS.patch)) {
    throw scimError('BAD_USER_INPUT', 'invalidSyntax', `A PATCH body needs schemas: ["${SCHEMAS.patch}"]`);
  }
  if (!Array.isArray(b.Operations) || b.Operations.length === 0) throw scimError('BAD_USER_INPUT', 'invalidSyntax', 'Operations must be a non-empty array');
  if (b.Operations.length > 1000) throw scimError('BAD_USER_INPUT', 'tooMany', 'At most 1000 operations per request');
  return b.Operations.map((raw: unknown, i: number) => {
    const o = raw as { op?: unknown; path?: unknown; value?: unknown } | null;
    const op = typeof o?.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw scimError('BAD_USER_INPUT', 'invalidSyntax', `Operations[${i}].op must be add, replace or remove`);
    if (o!.path !== undefined && (typeof o!.path !== 'string' || o!.path.length > 500)) throw scimError('BAD_USER_INPUT', 'invalidPath', `Operations[${i}].path must be a string`);
    if (op === 'remove' && o!.path === undefined) throw scimError('BAD_USER_INPUT', 'noTarget', `Operations[${i}]: remove needs a path`);
    return { op, path: o!.path as string | undefined, value: o!.value };
  });
}

/** SCIM booleans as identity providers send them: true/false, and Azure AD's "True"/"False". */
export function scimBoolean(v: unknown, name: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw scimError('BAD_USER_INPUT', 'invalidValue', `${name} must be a boolean`);
}

/** `meta.version`: a weak ETag from the row's last change. */
export const versionOf = (updatedAt: Date) => `W/"${updatedAt.getTime()}"`;
