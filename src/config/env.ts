/**
 * The process environment (read only by main.ts and the other process entry points, validated here):
 * ports, Redis, Twilio credentials, secrets. Validated once at start-up with zod and frozen; every
 * error names the setting. Imports nothing of ours outside src/config.
 */
import { z } from 'zod';
import { ConfigError, describeIssues } from './error.js';
import { withSecretFiles } from './secret-files.js';

export { ConfigError } from './error.js';

export const DEV_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const DEV_AUTH_TOKEN = 'switchboard-dev-auth-token';
export const DEV_HASH_KEY = 'switchboard-dev-caller-hash-key';
export const DEV_SUPERVISOR_TOKEN = 'switchboard-dev-supervisor-token';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(
      /^\s*((rediss?:\/\/[^\s,]+|[^\s,:/]+:\d+)(\s*,\s*(rediss?:\/\/[^\s,]+|[^\s,:/]+:\d+))*)?\s*$/,
      'comma-separated host:port or redis:// URLs',
    )
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, : _ - only')
    .default('sb:'),
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .refine((u) => !u.endsWith('/'), 'must not end with a slash')
    .optional(),
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits')
    .default(DEV_ACCOUNT_SID),
  TWILIO_AUTH_TOKEN: z.string().min(8, 'must be at least 8 characters').default(DEV_AUTH_TOKEN),
  TWILIO_API_BASE_URL: z.string().url().optional(),
  SWITCHBOARD_CONFIG: z.string().min(1).default('config/switchboard.example.yaml'),
  CALLER_HASH_KEY: z.string().min(16, 'must be at least 16 characters').default(DEV_HASH_KEY),
  SUPERVISOR_TOKEN: z.string().min(16, 'must be at least 16 characters').default(DEV_SUPERVISOR_TOKEN),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('data'),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/)
    .optional(),
  PROMETHEUS_URL: z
    .string()
    .url()
    .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
    .optional(),
  TWILIO_API_KEY_SID: z
    .string()
    .regex(/^SK[0-9a-fA-F]{32}$/, 'must be SK followed by 32 hex digits')
    .optional(),
  TWILIO_API_KEY_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

export interface EnvConfig {
  port: number;
  host: string;
  redisUrl: string | undefined;
  redisClusterNodes: string[] | undefined;
  redisPrefix: string;
  publicBaseUrl: string;
  twilioAccountSid: string;
  twilioAuthToken: string;
  twilioApiBaseUrl: string | undefined;
  configPath: string;
  callerHashKey: string;
  supervisorToken: string;
  logLevel: string;
  dataDir: string;
  instanceId: string | undefined;
  /** The Prometheus that scrapes Switchboard: for /api/plan and the forecast gauges (unset: both off). */
  prometheusUrl: string | undefined;
  /** The API key that signs the desk softphone's Access Tokens (both unset: no softphone). */
  twilioApiKeySid: string | undefined;
  twilioApiKeySecret: string | undefined;
  /** Settings left at their development defaults, so main.ts can warn about each. */
  devDefaults: string[];
}

/**
 * Validate the environment (secrets may come from `X_FILE` files, src/config/secret-files.ts); throws
 * ConfigError naming each wrong setting.
 */
export function loadEnv(processEnv: Record<string, string | undefined>): EnvConfig {
  const env = withSecretFiles(processEnv);
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid environment:\n${describeIssues(parsed.error.issues, (p) => String(p[0] ?? '(environment)'))}`);
  }
  const e = parsed.data;
  if (Boolean(e.TWILIO_API_KEY_SID) !== Boolean(e.TWILIO_API_KEY_SECRET)) {
    const missing = e.TWILIO_API_KEY_SID ? 'TWILIO_API_KEY_SECRET' : 'TWILIO_API_KEY_SID';
    throw new ConfigError(
      `invalid environment:\n${missing}: must be set with ${missing === 'TWILIO_API_KEY_SID' ? 'TWILIO_API_KEY_SECRET' : 'TWILIO_API_KEY_SID'} (the API key that signs softphone tokens)`,
    );
  }
  const devDefaults: string[] = [];
  if (!env.TWILIO_AUTH_TOKEN) devDefaults.push('TWILIO_AUTH_TOKEN');
  if (!env.TWILIO_ACCOUNT_SID) devDefaults.push('TWILIO_ACCOUNT_SID');
  if (!env.CALLER_HASH_KEY) devDefaults.push('CALLER_HASH_KEY');
  if (!env.PUBLIC_BASE_URL) devDefaults.push('PUBLIC_BASE_URL');
  if (!env.SUPERVISOR_TOKEN) devDefaults.push('SUPERVISOR_TOKEN');
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    redisPrefix: e.REDIS_PREFIX,
    publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`,
    twilioAccountSid: e.TWILIO_ACCOUNT_SID,
    twilioAuthToken: e.TWILIO_AUTH_TOKEN,
    twilioApiBaseUrl: e.TWILIO_API_BASE_URL,
    configPath: e.SWITCHBOARD_CONFIG,
    callerHashKey: e.CALLER_HASH_KEY,
    supervisorToken: e.SUPERVISOR_TOKEN,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    instanceId: e.INSTANCE_ID,
    prometheusUrl: e.PROMETHEUS_URL,
    twilioApiKeySid: e.TWILIO_API_KEY_SID,
    twilioApiKeySecret: e.TWILIO_API_KEY_SECRET,
    devDefaults,
  });
}
