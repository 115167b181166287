import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Config } from '../config.js';

export const JWT_ALG = 'EdDSA';

export interface SigningKeys {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Served at /.well-known/jwks.json. */
  jwks: { keys: JWK[] };
}

/**
 * The Ed25519 key that signs access tokens. From JWT_PRIVATE_JWK when set (required in production);
 * otherwise generated once and kept in the data folder, so development tokens survive restarts.
 */
export async function loadSigningKeys(config: Config): Promise<SigningKeys> {
  const jwk = config.JWT_PRIVATE_JWK ? (JSON.parse(config.JWT_PRIVATE_JWK) as JWK) : await devKey(config.DATA_DIR);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d) throw new Error('JWT_PRIVATE_JWK must be an Ed25519 private JWK');
  const { d: _private, ...publicJwk } = jwk;
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  return {
    kid,
    privateKey: (await importJWK(jwk, JWT_ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, JWT_ALG)) as CryptoKey,
    jwks: { keys: [{ ...publicJwk, kid, alg: JWT_ALG, use: 'sig' }] },
  };
}

async function devKey(dataDir: string): Promise<JWK> {
  const file = path.resolve(dataDir, 'keys', 'jwt-ed25519.jwk.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair(JWT_ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}
