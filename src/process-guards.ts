import { isDatabaseUnavailable } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The process-level error policy, installed once by main (every process role).
 *
 * - An unhandled promise rejection means some caller stopped waiting for a result, not that this
 *   process's state is broken: log it and keep serving. A lost or unreachable database is expected
 *   during a restart or failover (libraries such as pg-boss 10 fire some statements without awaiting
 *   them, timgit/pg-boss #577): a warning. Anything else is a bug to fix: an error, with the stack.
 *   (Node's default would exit the process, taking every request in flight with it.)
 * - An uncaught exception leaves state unknown (a half-run callback): log it as fatal and exit 1,
 *   so the process manager starts a clean process.
 */
export function installProcessGuards(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const onRejection = (reason: unknown) => {
    if (isDatabaseUnavailable(reason)) log.warn({ err: reason }, 'unhandled rejection: database connection failure (continuing)');
    else log.error({ err: reason }, 'unhandled rejection (continuing)');
  };
  const onException = (err: unknown) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
