/**
 * Bulk mutations (issue 15): the shared shape of createUsers, updateUsers and addOrganizationMembers.
 *
 * Semantics: every item succeeds or fails on its own, in the call's one savepoint. Items are checked
 * one by one in JavaScript (input, role rules, duplicates within the call, the rows they name,
 * read in one statement), then every item that passed is written with one set-based statement per
 * kind of change; a unique conflict found by that statement fails only its item (ON CONFLICT DO
 * NOTHING). So statements per call do not grow with the items, and one bad item never undoes the
 * others. Only a failure of the database itself fails the whole call (then nothing of it is kept).
 */
import { AppError, badInput } from '../errors.js';

/** At most this many items per bulk call (docs/limits.md). */
export const MAX_BULK_ITEMS = 500;

/** One item's outcome: its position in the input list, and the record or the error (never both). */
export interface ItemResult<T> {
  index: number;
  record: T | null;
  error: AppError | null;
}

/** BAD_USER_INPUT for the whole call when the list is empty or longer than MAX_BULK_ITEMS. */
export function assertBulkSize(n: number, field: string): void {
  if (n < 1 || n > MAX_BULK_ITEMS) throw badInput([{ field, message: `Between 1 and ${MAX_BULK_ITEMS} items` }]);
}

/** Runs a per-item check: an AppError becomes the item's error; anything else (a bug) propagates. */
export function tryItem<T>(results: ItemResult<unknown>[], index: number, check: () => T): T | undefined {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    results[index]!.error = err;
    return undefined;
  }
}

export const emptyResults = <T>(n: number): ItemResult<T>[] => Array.from({ length: n }, (_, index) => ({ index, record: null, error: null }));

/** The GraphQL side of an item's error: its code, message and refused fields. */
export function itemErrorOf(error: AppError | null) {
  if (!error) return null;
  const fields = error.extensions.fields as { field: string; message: string }[] | undefined;
  return { code: error.code, message: error.message, fields: fields ?? null };
}
