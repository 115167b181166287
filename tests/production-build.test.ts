import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROLE_PASSWORDS_ENV, withDatabase } from './helpers/global-setup.js';
import { freePorts, isAlive, listeningPorts, runtimeProcessEnv, startProcess, type ServerProcess } from './helpers/process.js';

/**
 * The production path as the Dockerfile runs it: `npm run build` (plain JavaScript in dist/), then
 * `node dist/main.js` with NODE_ENV=production: the migrate step on an empty database, then an API
 * and a worker, each waiting for nothing but the database, exiting 0 on SIGTERM.
 */
const base = inject('ownerBaseUrl');
const database = `tessera_test_prod_${crypto.randomBytes(4).toString('hex')}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-prod-'));
const procs: ServerProcess[] = [];
let ownerUrl: string;

const productionEnv = () => ({
  NODE_ENV: 'production',
  DATA_DIR: dataDir,
  DATABASE_URL: ownerUrl,
  ...ROLE_PASSWORDS_ENV, // the roles are cluster-wide: keep the passwords every test uses
  JWT_PRIVATE_JWK: JSON.stringify(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })),
  PLATFORM_OPERATOR_PASSWORD: 'operator-password-prod-test',
  INTEGRATION_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
  METRICS_TOKEN: 'metrics-token-prod-test-0123456789',
  HEALTH_CHECK_CRON: 'off',
  SYNC_INCREMENTAL_CRON: 'off',
  SYNC_FULL_CRON: 'off',
});
const startBuilt = (env: Record<string, string>) => {
  // `node dist/main.js` exactly: no loader, no TypeScript at run time.
  const all: Record<string, string> = { ...productionEnv(), ...env };
  for (const [k, v] of Object.entries(all)) if (v === '') delete all[k]; // '' = unset
  const p = startProcess({ env: all, command: [process.execPath, 'dist/main.js'] });
  procs.push(p);
  return p;
};

beforeAll(async () => {
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  ownerUrl = withDatabase(base, database);
});
afterAll(() => {
  for (const p of procs) if (isAlive(p.pid)) p.child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('production build', () => {
  it('npm run build compiles src to JavaScript; the built migrate step, API and worker run on it', async () => {
    await promisify(execFile)('npm', ['run', 'build'], { timeout: 180_000 });
    expect(fs.existsSync('dist/main.js')).toBe(true);
    expect(fs.readdirSync('dist', { recursive: true }).filter((f) => String(f).endsWith('.ts') && !String(f).endsWith('.d.ts'))).toEqual([]);

    // The migrate step needs the owner's URL only: none of the run-time secrets.
    const migrate = startProcess({ env: { NODE_ENV: 'production', PROCESS_ROLE: 'migrate', DATABASE_URL: ownerUrl, ...ROLE_PASSWORDS_ENV }, command: [process.execPath, 'dist/main.js'] });
    procs.push(migrate);
    expect((await migrate.exited).code).toBe(0);
    expect(migrate.output()).toContain('"msg":"migrations applied"');

    // Least privilege at run time: the API and the worker get the app role's URL and the roles'
    // passwords, never the owner's credentials.
    const runtime = { DATABASE_URL: '', APP_DATABASE_URL: runtimeProcessEnv(ownerUrl, 'build').APP_DATABASE_URL };
    const { PORT } = await freePorts();
    const api = startBuilt({ ...runtime, PROCESS_ROLE: 'api', PORT, HOST: '127.0.0.1' });
    const worker = startBuilt({ ...runtime, PROCESS_ROLE: 'worker' });
    await Promise.all([api.waitFor(/"msg":"Tessera ready"/, 150_000), worker.waitFor(/"msg":"Tessera ready"/, 150_000)]);
    const ready = await fetch(`http://127.0.0.1:${PORT}/readyz`);
    expect(ready.status).toBe(200);
    expect(listeningPorts(worker.pid)).toEqual([]);
    expect(listeningPorts(api.pid)).toEqual([Number(PORT)]); // no mock services outside development

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    const [a, w] = await Promise.all([api.exited, worker.exited]);
    expect([a.code, w.code]).toEqual([0, 0]);
    for (const p of [migrate, api, worker]) expect(p.errorLines()).toEqual([]);
  }, 400_000); // minutes under load (another file's processes start beside it); ~50 s alone here

  it('the SSO libraries (openid-client, @node-saml/node-saml and its XML signature stack) load at a first SSO sign-in, not at start-up: idle memory', async () => {
    // Every module dist/main.js imports at start-up, with a resolve hook that writes down each specifier asked for.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-imports-'));
    const asked = path.join(dir, 'asked.txt');
    fs.writeFileSync(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';\nexport async function resolve(specifier, context, next) { fs.appendFileSync(${JSON.stringify(asked)}, specifier + '\\n'); return next(specifier, context); }\n`);
    fs.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${path.join(dir, 'hooks.mjs')}`).href)});\n`);
    const startup = ['config', 'logger', 'process-guards', 'bootstrap', 'db/startup-lock', 'http/server', 'seed', 'integrations/health-checks'];
    await promisify(execFile)(process.execPath, ['--import', path.join(dir, 'register.mjs'), '--input-type=module', '-e', startup.map((m) => `await import('./dist/${m}.js');`).join(' ')], { timeout: 60_000 });
    const specifiers = new Set(fs.readFileSync(asked, 'utf8').split('\n'));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(specifiers).toContain('fastify'); // the hook saw the app's imports
    expect([...specifiers].filter((s) => /sso\/(oidc|saml)-flow\.js$/.test(s)).length).toBeGreaterThan(0); // and the SSO flows'
    expect([...specifiers].filter((s) => /^(openid-client|@node-saml\/|xml-crypto|xml-encryption)/.test(s))).toEqual([]);
  }, 90_000);
});

describe('deployment files', () => {
  it('compose.yaml: Postgres, a one-shot migrate step, two API processes and a worker, started in order', () => {
    const compose = parse(fs.readFileSync('compose.yaml', 'utf8'), { merge: true }) as { services: Record<string, any> };
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['api-1', 'api-2', 'migrate', 'postgres', 'worker']);
    expect(s.postgres.healthcheck).toBeDefined();
    expect(s.migrate.environment.PROCESS_ROLE).toBe('migrate');
    expect(s.migrate.depends_on.postgres.condition).toBe('service_healthy');
    expect(s.migrate.restart ?? 'no').toBe('no');
    for (const name of ['api-1', 'api-2', 'worker']) {
      expect(s[name].depends_on.migrate.condition).toBe('service_completed_successfully');
      expect(s[name].environment.NODE_ENV).toBe('production');
    }
    expect([s['api-1'].environment.PROCESS_ROLE, s['api-2'].environment.PROCESS_ROLE, s.worker.environment.PROCESS_ROLE]).toEqual(['api', 'api', 'worker']);
    // Only the migrate step holds the owner's credentials.
    expect(s.migrate.environment.DATABASE_URL).toContain('POSTGRES_OWNER_PASSWORD');
    for (const name of ['api-1', 'api-2', 'worker']) {
      expect(s[name].environment.DATABASE_URL).toBeUndefined();
      expect(JSON.stringify(s[name].environment)).not.toContain('POSTGRES_OWNER_PASSWORD');
      expect(s[name].environment.APP_DATABASE_URL).toMatch(/^postgres:\/\/tessera_app:/);
    }
    // The worker has no listener, so no HTTP health check.
    expect(s.worker.healthcheck?.disable).toBe(true);
  });

  it('Dockerfile: multi-stage, production dependencies only, non-root, health check on /readyz, node dist/main.js', () => {
    const dockerfile = fs.readFileSync('Dockerfile', 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/RUN npm ci/);
    expect(stages[0]).toMatch(/RUN npm run build/);
    expect(stages[1]).toMatch(/RUN npm ci --omit=dev/);
    expect(stages[1]).toMatch(/^USER (?!root)\S+/m);
    expect(stages[1]).toMatch(/^HEALTHCHECK [^]*?\/readyz/m);
    // node itself, V8 flags only (NODE_OPTIONS refuses some), then the built entry point.
    expect(stages[1]).toMatch(/^CMD \["node", (?:"--[a-z-]+(?:=\w+)?", )*"dist\/main\.js"\]$/m);
    // What dist/ reads at run time travels with it.
    for (const dir of ['migrations', 'schema']) expect(stages[1]).toMatch(new RegExp(`COPY .*${dir}`));
  });
});
