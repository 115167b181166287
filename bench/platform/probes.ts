/** What the platform benchmark measures besides load: statements per request, query plans, Postgres CPU, RSS. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { createApp } from '../../src/bootstrap.js';
import { deriveAppUrl } from '../../src/db/migrate.js';
import { actors, appBegin } from '../../src/db/tenant-transaction.js';
import { PAGE } from './common.js';

/**
 * Wraps the app pool's postgres.js debug hook (the one that feeds onQuery): counts transactions
 * (BEGINs, one per GraphQL operation) and can capture the SQL text one request sends.
 */
export function tapStatements(app: Awaited<ReturnType<typeof createApp>>) {
  const client = app.db.$client as unknown as { options: { debug?: (conn: number, query: string, ...rest: unknown[]) => void } };
  const original = client.options.debug;
  let seen: string[] | undefined;
  const tap = {
    transactions: 0,
    async capture(fn: () => Promise<void>): Promise<string[]> {
      seen = [];
      try {
        await fn();
        return seen;
      } finally {
        seen = undefined;
      }
    },
  };
  client.options.debug = (conn, query, ...rest) => {
    if (/^\s*begin\b/i.test(query)) tap.transactions++;
    seen?.push(query.replace(/\s+/g, ' ').trim());
    original?.(conn, query, ...rest);
  };
  return tap;
}

/** Server-side execution time of the request's two data queries, as the app role, for this tenant. */
export async function explainMainQuery(ownerUrl: string, appPassword: string, tenantId: string) {
  const sql = postgres(deriveAppUrl(ownerUrl, appPassword), { max: 1, onnotice: () => {} });
  try {
    return await sql.begin(async (tx) => {
      await appBegin(tx, actors.system('bench', tenantId));
      const ids = (await tx.unsafe(`select id from users order by created_at, id limit ${PAGE}`)).map((r) => r.id as string);
      // Best of 5: a single EXPLAIN ANALYZE on a fresh connection mostly measures cache warm-up.
      const best = async (query: string, params: postgres.ParameterOrJSON<never>[] = []) => {
        let plan: string[] = [];
        let bestMs = Infinity;
        for (let i = 0; i < 5; i++) {
          const lines = (await tx.unsafe(`explain (analyze, costs off, timing on, summary on) ${query}`, params)).map((r) => r['QUERY PLAN'] as string);
          const ms = Number(/Execution Time: ([\d.]+)/.exec(lines.join('\n'))?.[1] ?? Infinity);
          if (ms < bestMs) [bestMs, plan] = [ms, lines];
        }
        return plan;
      };
      return {
        users: await best(`select * from users order by created_at, id limit ${PAGE + 1}`),
        orgs: await best(
          'select m.user_id, o.* from organization_memberships m join organizations o on o.tenant_id = m.tenant_id and o.id = m.organization_id where m.user_id = any($1::uuid[]) order by o.name',
          [ids],
        ),
      };
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}


/**
 * CPU time (ms) used so far by the embedded Postgres: the postmaster, its live children and its
 * exited (reaped) children, from /proc (Linux). undefined when Postgres is not ours (DATABASE_URL) or /proc is not there.
 */
export function postgresCpuMs(pgDir: string | undefined): number | undefined {
  if (!pgDir) return undefined;
  try {
    const postmaster = Number(fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let ticks = 0;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      const pid = Number(entry);
      if (pid !== postmaster && Number(f[1]) !== postmaster) continue;
      ticks += Number(f[11]) + Number(f[12]); // utime + stime
      // Backends that exited (a client's pool closing idle connections) count in the postmaster's
      // cutime + cstime once reaped; without them a phase could show negative Postgres CPU.
      if (pid === postmaster) ticks += Number(f[13]) + Number(f[14]);
    }
    return (ticks * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export class RssSampler {
  peakMb = 0;
  private timer?: NodeJS.Timeout;
  start() {
    const sample = () => (this.peakMb = Math.max(this.peakMb, process.memoryUsage.rss() / 1024 / 1024));
    sample();
    this.timer = setInterval(sample, 100);
  }
  stop() {
    clearInterval(this.timer);
  }
}
