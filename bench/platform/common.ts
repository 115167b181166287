/** What the platform benchmark's parts share: where it writes, its sizes, its log. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DATA_DIR = path.join(ROOT, '.data/bench');
export const OUT_FILE = path.join(ROOT, '.bench/platform.md');
export const BENCH_DB = 'tessera_bench';
export const CONNECTIONS = 50;
export const WARMUP_S = 2;
export const DURATION_S = 10;
export const PAGE = 20;
export const USERS_PER_TENANT = 1000;
export const ORGS_PER_TENANT = 50;
/** The tables the measured query touches (app_begin reads tenants and users). */
export const RLS_TABLES = ['tenants', 'users', 'organizations', 'organization_memberships'];

export const log = (msg: string) => console.log(`[bench:platform] ${msg}`);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
