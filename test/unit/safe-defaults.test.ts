/**
 * Safe defaults (src/config/deployment.ts) and secrets from files (src/config/secret-files.ts): a
 * public PUBLIC_BASE_URL refuses each development secret by name, a loopback one keeps the no-
 * configuration start; `X_FILE` reads X from a file, and the mistakes name the setting.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCenterConfigFile } from '../../src/config/callcenter.js';
import { isLoopbackUrl, refuseDevelopmentSecrets } from '../../src/config/deployment.js';
import { ConfigError, DEV_SUPERVISOR_TOKEN, loadEnv } from '../../src/config/env.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROD = {
  TWILIO_ACCOUNT_SID: 'AC' + '1'.repeat(32),
  TWILIO_AUTH_TOKEN: 'a-real-auth-token-0123',
  CALLER_HASH_KEY: 'a-real-caller-hash-key-0123',
  SUPERVISOR_TOKEN: 'a-real-supervisor-token-0123',
};

function refusal(env: Record<string, string>, agents: Record<string, { token?: string }> = {}): string {
  try {
    refuseDevelopmentSecrets(loadEnv(env), agents);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  return '';
}

describe('loopback addresses', () => {
  it('tells this machine from the outside', () => {
    for (const u of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://127.1.2.3', 'http://[::1]:3000', 'http://desk.localhost'])
      expect(isLoopbackUrl(u), u).toBe(true);
    for (const u of [
      'https://switchboard.example.com',
      'http://10.0.0.5:3000',
      'http://0.0.0.0:3000',
      'http://[2001:db8::1]',
      'http://localhost.example.com',
      'http://128.0.0.1',
    ]) {
      expect(isLoopbackUrl(u), u).toBe(false);
    }
  });
});

describe('a public PUBLIC_BASE_URL', () => {
  it('refuses every development secret by name, left unset or set to the development value', async () => {
    const example = await loadCenterConfigFile('config/switchboard.example.yaml');
    const msg = refusal({ PUBLIC_BASE_URL: 'https://switchboard.example.com', SUPERVISOR_TOKEN: DEV_SUPERVISOR_TOKEN }, example.agents);
    for (const name of ['TWILIO_AUTH_TOKEN', 'TWILIO_ACCOUNT_SID', 'CALLER_HASH_KEY', 'SUPERVISOR_TOKEN'])
      expect(msg).toMatch(new RegExp(`^${name}: the development value`, 'm'));
    for (const agent of Object.keys(example.agents)) expect(msg).toMatch(new RegExp(`^agents\\.${agent}\\.token: a plain demo token`, 'm'));
  });
  it('names only what is left: one development secret, one agent with a plain token', () => {
    const { CALLER_HASH_KEY: _unset, ...rest } = PROD;
    const msg = refusal({ ...rest, PUBLIC_BASE_URL: 'https://switchboard.example.com' }, { ann: { token: 'ann-plain-token' }, bo: {} });
    expect(msg.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^CALLER_HASH_KEY: /),
      expect.stringMatching(/^agents\.ann\.token: .*tokenSha256/),
    ]);
  });
  it('starts with real secrets and hashed agent tokens', () => {
    expect(refusal({ ...PROD, PUBLIC_BASE_URL: 'https://switchboard.example.com' }, { ann: {} })).toBe('');
  });
});

describe('a loopback PUBLIC_BASE_URL (local use and the demo)', () => {
  it('keeps the development defaults and plain tokens (main.ts warns about each)', async () => {
    const example = await loadCenterConfigFile('config/switchboard.example.yaml');
    expect(refusal({}, example.agents)).toBe('');
    expect(refusal({ PUBLIC_BASE_URL: 'http://127.0.0.1:3000' }, example.agents)).toBe('');
    expect(loadEnv({}).devDefaults).toEqual(expect.arrayContaining(['TWILIO_AUTH_TOKEN', 'CALLER_HASH_KEY', 'SUPERVISOR_TOKEN']));
  });
});

describe('secrets from files (*_FILE)', () => {
  it('reads each secret setting from its file, trimmed', () => {
    const f = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const env = loadEnv({
      TWILIO_AUTH_TOKEN_FILE: f('auth', 'file-auth-token-0123\n'),
      TWILIO_ACCOUNT_SID_FILE: f('sid', `AC${'2'.repeat(32)}\n`),
      CALLER_HASH_KEY_FILE: f('hash', 'file-caller-hash-key-0123\n'),
      SUPERVISOR_TOKEN_FILE: f('sup', 'file-supervisor-token-0123'),
      REDIS_URL_FILE: f('redis', 'redis://:pw@redis.internal:6379\n'),
    });
    expect(env).toMatchObject({
      twilioAuthToken: 'file-auth-token-0123',
      twilioAccountSid: `AC${'2'.repeat(32)}`,
      callerHashKey: 'file-caller-hash-key-0123',
      supervisorToken: 'file-supervisor-token-0123',
      redisUrl: 'redis://:pw@redis.internal:6379',
    });
    expect(env.devDefaults).not.toContain('TWILIO_AUTH_TOKEN');
    expect(env.devDefaults).not.toContain('SUPERVISOR_TOKEN');
  });
  it('names the setting whose file is missing or empty, or that is set twice; a file value is validated like the variable', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    writeFileSync(join(dir, 'short'), 'short\n');
    let msg = '';
    try {
      loadEnv({
        TWILIO_AUTH_TOKEN_FILE: join(dir, 'nope'),
        CALLER_HASH_KEY_FILE: join(dir, 'empty'),
        SUPERVISOR_TOKEN: 'x'.repeat(20),
        SUPERVISOR_TOKEN_FILE: join(dir, 'empty'),
      });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^TWILIO_AUTH_TOKEN_FILE: cannot read .*nope \(ENOENT\)$/m);
    expect(msg).toMatch(/^CALLER_HASH_KEY_FILE: .*empty is empty$/m);
    expect(msg).toMatch(/^SUPERVISOR_TOKEN_FILE: SUPERVISOR_TOKEN is set too/m);
    expect(() => loadEnv({ SUPERVISOR_TOKEN_FILE: join(dir, 'short') })).toThrow(/SUPERVISOR_TOKEN: must be at least 16 characters/);
  });
});
