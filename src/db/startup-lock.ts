import postgres from 'postgres';

/** Advisory lock keys: one migrator at a time; one process at a time setting up queues and seeding. */
export const LOCKS = { migrations: 7355608, startup: 7355609 } as const;

/**
 * Runs `fn` while holding a session-level advisory lock on its own connection, so processes started
 * together on a fresh database take turns at idempotent-but-racy set-up work: pg-boss's createQueue
 * deadlocks against another process's, and two demo seeds both insert the tenant. Any role may take
 * an advisory lock; the lock is released with the connection if the process dies.
 */
export async function withStartupLock<T>(url: string, fn: () => Promise<T>, key: number = LOCKS.startup): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10, connection: { application_name: 'tessera-startup' } });
  try {
    await sql`select pg_advisory_lock(${key})`;
    return await fn();
  } finally {
    await sql.end({ timeout: 5 });
  }
}
