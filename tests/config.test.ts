import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { SecretBox } from '../src/integrations/secrets.js';

describe('configuration', () => {
  it('development needs no variables', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ NODE_ENV: 'development', PORT: 4000, isProduction: false });
  });

  it('production refuses to start without a database, a signing key and operator credentials', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL, JWT_PRIVATE_JWK, PLATFORM_OPERATOR_PASSWORD/);
  });

  it('reports every invalid variable by name', () => {
    expect(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'not a url' })).toThrow(/PORT[\s\S]*DATABASE_URL|DATABASE_URL[\s\S]*PORT/);
  });
});

describe('integration secrets at rest', () => {
  it('production requires INTEGRATION_ENCRYPTION_KEY, and it must be 32 bytes', () => {
    const base = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u:p@localhost/db', JWT_PRIVATE_JWK: '{}', PLATFORM_OPERATOR_PASSWORD: 'a-long-password', METRICS_TOKEN: 'metrics-token-0123456789' };
    expect(() => loadConfig(base)).toThrow(/INTEGRATION_ENCRYPTION_KEY/);
    expect(() => loadConfig({ ...base, INTEGRATION_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/INTEGRATION_ENCRYPTION_KEY/);
    expect(loadConfig({ ...base, INTEGRATION_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }).isProduction).toBe(true);
  });

  it('AES-256-GCM ciphertexts decrypt only for the row they were bound to, and tampering is detected', () => {
    const box = new SecretBox(crypto.randomBytes(32));
    const ct = box.encrypt('sk_live_123', 'tenant-a/int-1/credentials');
    expect(ct).not.toContain('sk_live_123');
    expect(box.decrypt(ct, 'tenant-a/int-1/credentials')).toBe('sk_live_123');
    expect(() => box.decrypt(ct, 'tenant-b/int-1/credentials')).toThrow();
    const parts = ct.split('.');
    parts[3] = Buffer.from('sk_live_999').toString('base64url');
    expect(() => box.decrypt(parts.join('.'), 'tenant-a/int-1/credentials')).toThrow();
    expect(() => new SecretBox(crypto.randomBytes(31).subarray(0, 16)).encrypt('x', 'y')).toThrow();
  });
});

describe('client IP behind proxies', () => {
  it('TRUST_PROXY is off by default and takes an address list', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).TRUST_PROXY).toEqual(['loopback']);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(() => loadConfig({ TRUST_PROXY: 'everyone; drop table' })).toThrow(/TRUST_PROXY/);
  });
});

describe('links and tenant addresses', () => {
  it('APP_URL (where emailed links point) has a development default, is trimmed of a trailing slash and must be http(s)', () => {
    expect(loadConfig({}).appUrl).toBe('http://localhost:3000');
    expect(loadConfig({ APP_URL: 'https://app.example.com/' }).appUrl).toBe('https://app.example.com');
    expect(() => loadConfig({ APP_URL: 'javascript:alert(1)' })).toThrow(/APP_URL/);
    expect(() => loadConfig({ APP_URL: 'not a url' })).toThrow(/APP_URL/);
  });

  it('TENANT_BASE_DOMAIN is a domain name, lower-cased; unset by default', () => {
    expect(loadConfig({}).TENANT_BASE_DOMAIN).toBeUndefined();
    expect(loadConfig({ TENANT_BASE_DOMAIN: 'Tessera.Example.COM' }).TENANT_BASE_DOMAIN).toBe('tessera.example.com');
    for (const bad of ['*.example.com', 'example.com/x', 'a..b', '-a.com', 'x'.repeat(64) + '.com']) expect(() => loadConfig({ TENANT_BASE_DOMAIN: bad }), bad).toThrow(/TENANT_BASE_DOMAIN/);
  });
});
