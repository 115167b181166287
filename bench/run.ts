import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench -- <name>` runs bench/<name>.ts (platform, webhooks, protections, fanout, ...).
 * Each benchmark is a self-contained script that does its work when imported.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const available = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const name = process.argv[2];

if (!name || !/^[a-z0-9-]+$/.test(name) || !available.includes(name)) {
  console.error(`Usage: npm run bench -- <name>\nAvailable: ${available.join(', ') || '(none)'}`);
  process.exitCode = 1;
} else {
  await import(`./${name}.ts`);
}
