import type { Config } from './config.js';
import type { AppDb } from './db/client.js';
import type { SigningKeys } from './auth/keys.js';
import type { TokenService } from './auth/tokens.js';
import type { Logger } from './logger.js';

/** Process-wide services, built once at start-up and handed to every request and job. */
export interface App {
  config: Config;
  db: AppDb;
  keys: SigningKeys;
  tokens: TokenService;
  log: Logger;
  platformOperator: { email: string; password: string };
}
