import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { buildASTSchema, isObjectType, Kind, parse, print, TypeInfo, visit, visitWithTypeInfo, getNamedType, type OperationDefinitionNode, type ValueNode } from 'graphql';
import { ROLE_PASSWORDS_ENV, TEMPLATE_DB, withDatabase } from './helpers/global-setup.js';

/**
 * The README's API tour is what newcomers copy, so it is run here as written: against the same
 * process `npm start` runs (demo seed and mock providers included), with its `curl`, GraphQL and
 * graphql-ws examples taken from the README itself. Only what a reader fills in by hand is filled in:
 * the ports, the printed passwords, and each `"…"` from what the earlier examples returned.
 */

const README = fs.readFileSync(path.resolve('README.md'), 'utf8');
const TOUR = README.slice(README.indexOf('## API tour'));

interface Block {
  lang: string;
  code: string;
  line: number;
}

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    blocks.push({ lang: m[1]!, code: m[2]!, line: README.slice(0, README.indexOf(m[0])).split('\n').length });
  }
  return blocks;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

let server: ChildProcess;
let banner = '';
let apiUrl = '';
let mockPort = 0;
let dataDir = '';

beforeAll(async () => {
  const base = inject('ownerBaseUrl');
  const database = `tessera_test_${crypto.randomBytes(4).toString('hex')}`;
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}" template "${TEMPLATE_DB}"`);
  await admin.end();
  const port = await freePort();
  mockPort = await freePort();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-readme-'));
  apiUrl = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATABASE_URL: withDatabase(base, database),
      ...ROLE_PASSWORDS_ENV, // roles are cluster-wide: keep the passwords every test uses
      DATA_DIR: dataDir,
      PORT: String(port),
      MOCK_SERVICES_PORT: String(mockPort),
      PUBLIC_URL: apiUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr!.on('data', (d: Buffer) => (banner += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start's process did not print its banner:\n${banner}`)), 100_000);
    server.stdout!.on('data', (d: Buffer) => {
      banner += d.toString();
      if (/Platform operator:.*password "[^"]+"/.test(banner)) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}):\n${banner}`)));
  });
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** What a reader changes by hand: the ports (4000 API, 4100 mock providers). */
function localize(text: string): string {
  return text.replace(/(localhost|127\.0\.0\.1):4000/g, apiUrl.replace('http://', '')).replace(/127\.0\.0\.1:4100/g, `127.0.0.1:${mockPort}`);
}

function printed(label: RegExp): string {
  const m = label.exec(banner);
  if (!m?.[1]) throw new Error(`banner lacks ${label}:\n${banner}`);
  return m[1];
}

/** Arguments whose record type their name doesn't say. */
const ID_TYPES: Record<string, string> = { entityId: 'User', fromId: 'AuditLog' };

/** Input objects whose `id` field names a record of another type. */
const INPUT_ID_TYPES: Record<string, string> = { UpdateUsersItem: 'User' };

const PLATFORM_FIELDS = /^(platform\w*|createTenant|suspendTenant|reactivateTenant|changeTenantPlan)$/;

describe('README API tour, run as written', () => {
  it('every curl, GraphQL and graphql-ws example works against npm start', async () => {
    const demoPassword = printed(/Demo login:.*password "([^"]+)"/);
    const operatorPassword = printed(/Platform operator:.*password "([^"]+)"/);
    // The SDL itself (types only), with this file's own graphql module.
    const sdl = fs.readdirSync('schema').filter((f) => f.endsWith('.graphql')).map((f) => fs.readFileSync(path.join('schema', f), 'utf8'));
    const schema = buildASTSchema(parse(sdl.join('\n')), { assumeValidSDL: true });
    const lastId = new Map<string, string>();
    const tokens: { user?: string; refresh?: string; platform?: string; scim?: string; apiKey?: string; link?: string; ssoCode?: string } = {};
    const failures: string[] = [];
    let expectNotFound = false;

    const remember = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(remember);
      if (!value || typeof value !== 'object') return;
      const o = value as Record<string, unknown>;
      if (typeof o.__typename === 'string' && typeof o.id === 'string') lastId.set(o.__typename, o.id);
      for (const v of Object.values(o)) remember(v);
    };

    const post = async (body: unknown, token?: string) => {
      const res = await fetch(`${apiUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { data?: Record<string, any>; errors?: { message: string; extensions?: { code?: string } }[] } };
    };

    const login = async () => {
      const res = await post({ query: `mutation($p: String!) { login(input: { tenantSlug: "demo", email: "owner@demo.test", password: $p }) { accessToken refreshToken } }`, variables: { p: demoPassword } });
      tokens.user = res.body.data?.login.accessToken;
      tokens.refresh = res.body.data?.login.refreshToken;
    };

    /** Fills each `"…"` the way a reader would: from what earlier examples returned. */
    const fill = (op: OperationDefinitionNode, where: string): OperationDefinitionNode => {
      const typeInfo = new TypeInfo(schema);
      const rootField = op.selectionSet.selections.find((s) => s.kind === Kind.FIELD)?.name.value ?? '';
      const valueFor = (name: string, fieldType: string | undefined): string => {
        if (name === 'password' || name === 'newPassword' || name === 'currentPassword') return rootField === 'platformLogin' ? operatorPassword : demoPassword;
        // The token of the link in the newest message the reader just looked at (the mock's sent mail).
        if (name === 'token') return tokens.link ?? '';
        if (name === 'ownerPassword') return 'Globex-owner-password-1';
        if (name === 'refreshToken') return tokens.refresh ?? '';
        if (name === 'code') return tokens.ssoCode ?? '';
        if (name === 'apiKey') return 'demo-api-key';
        const typeName = name === 'id' ? fieldType : (ID_TYPES[name] ?? (name.endsWith('Id') ? name[0]!.toUpperCase() + name.slice(1, -2) : undefined));
        if (!typeName) throw new Error(`${where}: no earlier example gives a value for "${name}"`);
        const id = lastId.get(typeName) ?? idInside(typeName);
        if (id) return id;
        // An example about data the demo doesn't have (a DEAD push): it must still be a valid,
        // permitted operation, answered NOT_FOUND.
        expectNotFound = true;
        return crypto.randomUUID();
      };
      /** A payload's id is the id of the record inside it (rotateWebhookSecret(id) → its integration). */
      const idInside = (typeName: string): string | undefined => {
        const type = schema.getType(typeName);
        if (!isObjectType(type)) return undefined;
        for (const f of Object.values(type.getFields())) {
          const inner = lastId.get(getNamedType(f.type).name);
          if (inner) return inner;
        }
        return undefined;
      };
      const placeholder = (v: ValueNode) => v.kind === Kind.STRING && v.value.includes('…');
      return visit(
        op,
        visitWithTypeInfo(typeInfo, {
          Argument(node) {
            if (!placeholder(node.value)) return undefined;
            const fieldType = typeInfo.getFieldDef() ? getNamedType(typeInfo.getFieldDef()!.type).name : undefined;
            return { ...node, value: { kind: Kind.STRING, value: valueFor(node.name.value, fieldType) } };
          },
          ObjectField(node) {
            if (!placeholder(node.value)) return undefined;
            // `id` inside an input object names the record of that input (an item of updateUsers: a User).
            const inputType = typeInfo.getParentInputType();
            const idOf = node.name.value === 'id' && inputType ? INPUT_ID_TYPES[getNamedType(inputType).name] : undefined;
            return { ...node, value: { kind: Kind.STRING, value: valueFor(node.name.value, idOf) } };
          },
          SelectionSet(node) {
            // __typename lets the harness remember ids by type, as a reader remembers "the user I created".
            return { ...node, selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }, ...node.selections] };
          },
        }),
      );
    };

    await login();
    for (const block of codeBlocks(TOUR)) {
      const where = `README.md:${block.line}`;
      if (block.lang === 'sh' && /(^|\$\()\s*curl /m.test(block.code)) {
        const cmd = localize(block.code).replace(/password: \\"…\\"/, `password: \\"${demoPassword}\\"`).replaceAll('scim_…', tokens.scim ?? 'scim_…').replaceAll('tsk_…', tokens.apiKey ?? 'tsk_…'); // keys an earlier example created
        const out = await runShell(cmd);
        // A SCIM error answers in its own schema, not GraphQL's `errors`.
        tokens.ssoCode = /code=(ssoc_[A-Za-z0-9_-]+)/.exec(out.stdout)?.[1] ?? tokens.ssoCode;
        if (out.code !== 0 || /"errors"|api:messages:2\.0:Error|error=SSO_/.test(out.stdout) || !out.stdout.trim()) failures.push(`${where}: ${cmd}\n→ exit ${out.code}: ${out.stdout}${out.stderr}`);
        // A reader copies the token from the link in the mail they just read.
        const link = /token=([A-Za-z0-9_%-]+)/.exec(out.stdout)?.[1];
        if (link) tokens.link = decodeURIComponent(link);
        continue;
      }
      if (block.lang === 'ts' || block.lang === 'js') {
        const out = await runSnippet(localize(block.code), tokens.user!);
        if (!out.ok) failures.push(`${where}: the ${block.lang} example printed no event:\n${out.output}`);
        continue;
      }
      if (block.lang !== 'graphql') continue;
      const doc = parse(block.code);
      for (const def of doc.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        let op: OperationDefinitionNode;
        expectNotFound = false;
        try {
          op = fill(def, where);
        } catch (err) {
          failures.push((err as Error).message);
          continue;
        }
        const root = op.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD && s.name.value !== '__typename' ? [s.name.value] : []));
        const token = root.some((f) => PLATFORM_FIELDS.test(f)) && !root.includes('platformLogin') ? tokens.platform : tokens.user;
        const query = print(op);
        const res = await post({ query }, root.includes('platformLogin') || root.includes('login') ? undefined : token);
        if (expectNotFound && res.body.errors?.length === 1 && res.body.errors[0]!.extensions?.code === 'NOT_FOUND') continue;
        if (res.body.errors?.length || res.status !== 200) {
          failures.push(`${where}: ${print(def)}\n→ ${res.status} ${JSON.stringify(res.body.errors)}`);
          continue;
        }
        if (root.includes('createScimToken')) tokens.scim = res.body.data?.createScimToken?.token;
        if (root.includes('platformLogin')) tokens.platform = res.body.data?.platformLogin?.accessToken;
        if (root.includes('login')) tokens.user = res.body.data?.login?.accessToken ?? tokens.user;
        if (root.includes('refreshSession')) {
          tokens.refresh = res.body.data?.refreshSession?.refreshToken ?? tokens.refresh;
          tokens.user = res.body.data?.refreshSession?.accessToken ?? tokens.user;
        }
        if (root.includes('createApiKey')) tokens.apiKey = res.body.data?.createApiKey?.key;
        remember(res.body.data);
        // A reader who logged out logs in again before the next example.
        if (root.includes('logout')) await login();
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, 120_000);

  it('offers an explorer that works offline (GraphiQL from node_modules), beside Apollo Sandbox', async () => {
    const page = await fetch(`${apiUrl}/graphiql`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(1);
    for (const asset of assets) {
      expect(asset.startsWith('/'), `${asset} must come from this server, not the internet`).toBe(true);
      const res = await fetch(`${apiUrl}${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(1000);
    }
  });
});

function runShell(cmd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs a TypeScript example as a module in this checkout (so its imports resolve as in a reader's
 * project that installed graphql-ws and ws), with `accessToken` defined, until it prints an event.
 */
async function runSnippet(code: string, accessToken: string): Promise<{ ok: boolean; output: string }> {
  const file = path.resolve(`tests/.readme-snippet-${crypto.randomBytes(4).toString('hex')}.ts`);
  fs.writeFileSync(file, `const accessToken = ${JSON.stringify(accessToken)};\n${code}`);
  try {
    return await new Promise((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const done = (ok: boolean) => {
        clearTimeout(timer);
        p.kill('SIGKILL');
        resolve({ ok, output });
      };
      const timer = setTimeout(() => done(false), 15_000);
      p.stdout.on('data', (d: Buffer) => {
        output += d;
        if (/data/.test(output)) done(true);
      });
      p.stderr.on('data', (d: Buffer) => (output += d));
      p.on('exit', () => done(/data/.test(output)));
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
}
