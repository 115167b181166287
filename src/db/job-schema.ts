import PgBoss from 'pg-boss';
import type postgres from 'postgres';

/** pg-boss's schema. The app role's grants on it are in the integration-engine custom migration. */
export const JOB_SCHEMA = 'pgboss';

/**
 * Installs pg-boss's tables as the owner, before our migrations (which grant the app role on them).
 * Later pg-boss versions migrate their own schema when the owner-connected instance starts.
 */
export async function installJobSchema(owner: postgres.Sql): Promise<void> {
  const [row] = await owner`select to_regclass(${`${JOB_SCHEMA}.version`}) as version`;
  if (row?.version) return;
  // The plan is several statements in its own BEGIN/COMMIT with an advisory lock: simple protocol.
  await owner.unsafe(PgBoss.getConstructionPlans(JOB_SCHEMA)).simple();
}
