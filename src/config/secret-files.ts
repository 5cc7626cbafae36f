/**
 * Secrets from files, as container platforms hand them over (Docker and Compose secrets under
 * /run/secrets, Kubernetes secret volumes): for each secret setting `X`, `X_FILE` names a file whose
 * content is the value. Setting both is an error (which one would win is a guess); the file's content is
 * trimmed (secret files usually end with a newline). Imports nothing of ours outside src/config.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './error.js';

/** The settings that may come from a file: credentials, keys and URLs that can carry a password. */
export const SECRET_SETTINGS = [
  'TWILIO_AUTH_TOKEN',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_API_KEY_SECRET',
  'CALLER_HASH_KEY',
  'SUPERVISOR_TOKEN',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
] as const;

/**
 * The environment with every `X_FILE` replaced by `X` read from that file. Throws ConfigError naming
 * each setting whose file cannot be read, is empty, or is set together with the plain variable.
 */
export function withSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    delete out[`${name}_FILE`];
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}_FILE: ${name} is set too; set one of them`);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (e) {
      problems.push(`${name}_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      continue;
    }
    if (!text) {
      problems.push(`${name}_FILE: ${file} is empty`);
      continue;
    }
    out[name] = text;
  }
  if (problems.length) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
  return out;
}
