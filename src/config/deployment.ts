/**
 * Safe defaults: the development credentials that make `npm start` and `npm run demo` work with no
 * configuration are public knowledge (they are in this repository), so a server Twilio reaches from
 * outside must not run with them. When PUBLIC_BASE_URL is not a loopback address, start-up refuses each
 * setting still at (or set to) its development value, and any agent signing in with a plain `token`
 * from the call-center file (the example's demo tokens; production stores `tokenSha256`). On a loopback
 * URL nothing changes: they stay warnings. Imports nothing of ours outside src/config.
 */
import { isIP } from 'node:net';
import { ConfigError } from './error.js';
import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, DEV_HASH_KEY, DEV_SUPERVISOR_TOKEN, type EnvConfig } from './env.js';

/** True when the URL's host is this machine only: localhost, *.localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host);
  return false;
}

/** The settings of `env` and agents of the call-center file that a public deployment may not use. */
export function developmentSecretsInUse(env: EnvConfig, agents: Record<string, { token?: string | undefined }>): string[] {
  const out: string[] = [];
  const dev: [string, string, string][] = [
    ['TWILIO_AUTH_TOKEN', env.twilioAuthToken, DEV_AUTH_TOKEN],
    ['TWILIO_ACCOUNT_SID', env.twilioAccountSid, DEV_ACCOUNT_SID],
    ['CALLER_HASH_KEY', env.callerHashKey, DEV_HASH_KEY],
    ['SUPERVISOR_TOKEN', env.supervisorToken, DEV_SUPERVISOR_TOKEN],
  ];
  for (const [name, value, devValue] of dev) {
    if (value === devValue)
      out.push(`${name}: the development value is not accepted when PUBLIC_BASE_URL is public; set ${name} or ${name}_FILE`);
  }
  for (const [id, agent] of Object.entries(agents)) {
    if (agent.token !== undefined) {
      out.push(
        `agents.${id}.token: a plain demo token is not accepted when PUBLIC_BASE_URL is public; store tokenSha256 (the sha256 hex of the token) instead`,
      );
    }
  }
  return out;
}

/**
 * Throws ConfigError naming every development secret in use when PUBLIC_BASE_URL is not a loopback
 * address (`npm start` then exits with the configuration-error code, 78).
 */
export function refuseDevelopmentSecrets(env: EnvConfig, agents: Record<string, { token?: string | undefined }>): void {
  if (isLoopbackUrl(env.publicBaseUrl)) return;
  const found = developmentSecretsInUse(env, agents);
  if (found.length) {
    throw new ConfigError(`development secrets with a public PUBLIC_BASE_URL (${env.publicBaseUrl}):\n${found.join('\n')}`);
  }
}
