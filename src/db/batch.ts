import DataLoader from 'dataloader';
import { sql, type SQL } from 'drizzle-orm';

/**
 * Helpers for batched reads (DataLoaders in src/modules/<domain>/loaders.ts), so that a field
 * resolved once per row of a list costs one statement per operation, not one per row.
 */

/** Ids as one uuid[] parameter: one prepared statement whatever the batch size (unlike `in ($1, …, $n)`). */
export function uuidArray(ids: readonly string[]): SQL {
  return sql`${`{${ids.join(',')}}`}::uuid[]`;
}

/**
 * A DataLoader for a per-row field that takes arguments (a nested page: `first`, `after`). Keys with
 * the same arguments are fetched together, so an operation costs one statement per distinct set of
 * arguments it uses (a handful of aliases at most), never one per row. A failure (a bad argument)
 * fails only the keys of its set.
 */
export function loaderByArgs<A, V>(fetch: (ids: readonly string[], args: A) => Promise<V[]>): DataLoader<{ id: string; args: A }, V, string> {
  return new DataLoader<{ id: string; args: A }, V, string>(
    async (keys) => {
      const sets = new Map<string, { args: A; at: number[] }>();
      keys.forEach((k, i) => {
        const name = JSON.stringify(k.args);
        const set = sets.get(name) ?? { args: k.args, at: [] };
        set.at.push(i);
        sets.set(name, set);
      });
      const out: (V | Error)[] = new Array(keys.length);
      await Promise.all(
        [...sets.values()].map(async ({ args, at }) => {
          try {
            const values = await fetch(at.map((i) => keys[i]!.id), args);
            at.forEach((i, j) => (out[i] = values[j]!));
          } catch (err) {
            for (const i of at) out[i] = err instanceof Error ? err : new Error(String(err));
          }
        }),
      );
      return out;
    },
    { cacheKeyFn: (k) => `${k.id}|${JSON.stringify(k.args)}` },
  );
}
