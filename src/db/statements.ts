/**
 * Hand-written statements for the hot read paths (STYLE: one statement per purpose, named, prepared,
 * findable). Their text is a constant (lists are one array parameter, `= any($1::uuid[])`, not an IN
 * list per length), so postgres.js prepares each once per connection and every later run is one
 * Bind/Execute, and no query builder runs per request: drizzle rebuilt the SQL text of every query,
 * about a tenth of a request's CPU. They run in the caller's transaction (RLS and settings as for
 * everything else). Rows arrive as the app pool parses them: timestamps as Postgres' text (drizzle's
 * setting for the shared client), bigints as text; map them with the helpers below.
 */
import { rawClientOf, type Tx } from './client.js';

/** Runs one statement in `tx`, prepared. */
export function runStatement<R>(tx: Tx, text: string, params: unknown[]): Promise<R[]> {
  return rawClientOf(tx).unsafe(text, params as never[], { prepare: true }) as unknown as Promise<R[]>;
}

/**
 * Postgres' timestamptz text (`2025-12-01 13:00:00.123+00`) as a Date. V8 parses that form directly
 * (twice as fast as rewriting it), except years below 1000, which it reads as two-digit years: those
 * are rewritten to ISO form first.
 */
export function toDate(text: string): Date {
  if (text.charCodeAt(0) !== 48 /* '0' */) return new Date(text);
  const offsetHoursOnly = text.length > 3 && (text[text.length - 3] === '+' || text[text.length - 3] === '-');
  return new Date(`${text.replace(' ', 'T')}${offsetHoursOnly ? ':00' : ''}`);
}
export const toDateOrNull = (text: string | null): Date | null => (text === null ? null : toDate(text));
export const toNumberOrNull = (text: string | number | null): number | null => (text === null ? null : Number(text));
