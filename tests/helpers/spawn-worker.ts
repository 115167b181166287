import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROLE_PASSWORDS_ENV } from './global-setup.js';
import { OPERATOR, type TestServer } from './server.js';

/**
 * Starts tests/helpers/worker-process.ts as its own OS process on `api`'s database (so a test can
 * SIGKILL it mid-job) and resolves once its workers are polling.
 */
export async function spawnWorker(api: TestServer, env: Record<string, string>): Promise<ChildProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-worker-'));
  const worker = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/worker-process.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: api.databaseUrl.owner,
      APP_DATABASE_URL: api.databaseUrl.app,
      ...ROLE_PASSWORDS_ENV,
      DATA_DIR: dataDir,
      INTEGRATION_ENCRYPTION_KEY: api.app.config.INTEGRATION_ENCRYPTION_KEY,
      PLATFORM_OPERATOR_EMAIL: OPERATOR.email,
      PLATFORM_OPERATOR_PASSWORD: OPERATOR.password,
      HEALTH_CHECK_CRON: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  worker.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  await new Promise<void>((resolve, reject) => {
    worker.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    worker.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return worker;
}
