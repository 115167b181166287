import type { AppDb, Tx } from './client.js';
import { databaseErrorOf } from '../errors.js';
import { withTenant, type SessionState, type TenantSettings } from './tenant-context.js';

/** Enqueues jobs inside a transaction (src/jobs/boss.ts implements it): they exist if it commits. */
export interface JobEnqueuer {
  enqueue<T extends object>(tx: Tx, queue: string, data: T[], opts?: { startAfterSeconds?: number }): Promise<string[]>;
}

/**
 * Where services run their SQL. `read` shares the scope's tenant transaction; `write` makes a
 * change all-or-nothing (a savepoint inside a request's transaction, so a failed mutation undoes
 * only itself).
 */
export interface Scope {
  readonly settings: TenantSettings;
  /** The job queue, for services that enqueue in the scope's transaction (e.g. pushes of a user's change). */
  readonly jobs?: JobEnqueuer;
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

const ROLLBACK = Symbol('rollback');

/**
 * One tenant transaction per GraphQL operation, opened on first use and finished by the server
 * after execution (commit, or rollback when the operation failed as a whole). Every resolver and
 * DataLoader batch of the operation shares it, so an operation costs BEGIN + app_begin + its
 * queries + COMMIT round trips, independent of how many resolvers run.
 */
export class OperationScope implements Scope {
  private opened?: Promise<{ tx: Tx; session: SessionState }>;
  private release?: (commit: boolean) => void;
  private finished?: Promise<void>;
  private aborted = false;

  constructor(
    private readonly db: AppDb,
    readonly settings: TenantSettings,
    readonly jobs?: JobEnqueuer,
  ) {}

  /** Opens the transaction (once) and reports what app_begin read about the tenant and user. */
  session(): Promise<SessionState> {
    return this.open().then((o) => o.session);
  }

  async read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const { tx } = await this.open();
    try {
      return await fn(tx);
    } catch (err) {
      // A failed statement outside a savepoint aborts the transaction: Postgres would turn our COMMIT
      // into a silent ROLLBACK, so remember it and make finish() say so.
      if (databaseErrorOf(err)) this.aborted = true;
      throw err;
    }
  }

  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const { tx } = await this.open();
    return tx.transaction((sp) => fn(sp as unknown as Tx));
  }

  /** Commits (or rolls back) if the transaction was ever opened. Rejects if the commit fails. */
  async finish(commit: boolean): Promise<void> {
    if (!this.opened) return;
    await this.opened.catch(() => undefined);
    this.release?.(commit && !this.aborted);
    await this.finished;
    if (commit && this.aborted) throw new Error('The operation\'s transaction was aborted by a failed statement and rolled back');
  }

  private open() {
    this.opened ??= new Promise((resolveOpen, rejectOpen) => {
      this.finished = withTenant(this.db, this.settings, (tx, session) => {
        resolveOpen({ tx, session });
        return new Promise<void>((resolve, reject) => {
          this.release = (commit) => (commit ? resolve() : reject(ROLLBACK));
        });
      }).catch((err: unknown) => {
        if (err === ROLLBACK) return;
        rejectOpen(err); // no-op if it had opened; then finish() rethrows below
        throw err;
      });
      this.finished.catch(() => undefined); // surfaced by finish(), not as an unhandled rejection
    });
    return this.opened;
  }
}


/**
 * Short transactions: every session check, read and write is its own tenant transaction. For
 * long-lived callers (WebSocket subscriptions, jobs) that must not hold a transaction open.
 */
export class ShortScope implements Scope {
  constructor(
    private readonly db: AppDb,
    readonly settings: TenantSettings,
    readonly jobs?: JobEnqueuer,
  ) {}
  session(): Promise<SessionState> {
    return withTenant(this.db, this.settings, async (_tx, session) => session);
  }
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return withTenant(this.db, this.settings, (tx) => fn(tx));
  }
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return withTenant(this.db, this.settings, (tx) => fn(tx));
  }
  async finish(): Promise<void> {}
}

/** A scope for jobs and scripts: each read and each write is its own tenant transaction. */
export function transactionScope(db: AppDb, settings: TenantSettings, jobs?: JobEnqueuer): Scope {
  return new ShortScope(db, settings, jobs);
}

/** What a request context holds: a scope that can also report the session and be finished. */
export type RequestScope = OperationScope | ShortScope;
