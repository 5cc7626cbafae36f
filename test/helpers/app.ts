/**
 * Build a real app (real Redis, unique key prefix) and talk to it the way Twilio does: form-encoded
 * POSTs signed with the twilio package's own getExpectedTwilioSignature over the public URL.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { buildApp, type AppConfig, type AppDeps } from '../../src/app.js';
import { VirtualClock } from '../../src/clock.js';
import { loadCenterConfigFile, parseCenterConfig, type CenterConfig } from '../../src/config/callcenter.js';
import type { RedisClient } from '../../src/store/redis.js';
import { newRedis, uniquePrefix } from './redis.js';

export const AUTH_TOKEN = 'test-auth-token-0123456789';
export const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
export const PUBLIC_BASE = 'https://switchboard.example.com';
export const SUPERVISOR_TOKEN = 'test-supervisor-token-0123';
export const EXAMPLE_CONFIG = 'config/switchboard.example.yaml';

/** Monday 5 Jan 2026, 09:00 in New York: the example's support hours are open. */
export const OPEN_TIME = Date.UTC(2026, 0, 5, 14, 0, 0);
/** Monday 5 Jan 2026, 22:00 in New York: closed. */
export const CLOSED_TIME = Date.UTC(2026, 0, 6, 3, 0, 0);
/** 25 Dec 2026, 11:00 in New York: a configured holiday. */
export const HOLIDAY_TIME = Date.UTC(2026, 11, 25, 16, 0, 0);

export const newCallSid = (): string => 'CA' + randomBytes(16).toString('hex');

export interface TestApp {
  app: FastifyInstance;
  redis: RedisClient;
  clock: VirtualClock;
  center: CenterConfig;
  prefix: string;
  /** POST signed form parameters to a path (with query), as Twilio would. */
  twilio(
    path: string,
    params: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: string; json: () => unknown }>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export async function loadExample(): Promise<CenterConfig> {
  return loadCenterConfigFile(EXAMPLE_CONFIG);
}

/** The example call center with some top-level sections replaced (validated like the file). */
export async function loadExampleWith(sections: Record<string, unknown>): Promise<CenterConfig> {
  const { readFile } = await import('node:fs/promises');
  const raw = (await import('yaml')).parse(await readFile(EXAMPLE_CONFIG, 'utf8')) as Record<string, unknown>;
  return parseCenterConfig({ ...raw, ...sections }, EXAMPLE_CONFIG);
}

/** Build an app on the example config (or a given one) with a virtual clock at `now`. */
export async function makeApp(
  opts: {
    now?: number;
    center?: CenterConfig | unknown;
    redis?: RedisClient;
    budgetMs?: number;
    deps?: Partial<AppDeps>;
    config?: Partial<AppConfig>;
  } = {},
): Promise<TestApp> {
  const center = opts.center ? (isCenter(opts.center) ? opts.center : parseCenterConfig(opts.center)) : await loadExample();
  const redis = opts.redis ?? newRedis();
  const clock = new VirtualClock(opts.now ?? OPEN_TIME);
  const prefix = uniquePrefix('app');
  const app = await buildApp(
    {
      center,
      publicBaseUrl: PUBLIC_BASE,
      twilioAuthToken: AUTH_TOKEN,
      twilioAccountSid: ACCOUNT_SID,
      twilioApiBaseUrl: undefined,
      callerHashKey: 'test-caller-hash-key-0123456789',
      redisPrefix: prefix,
      supervisorToken: SUPERVISOR_TOKEN,
      webhookBudgetMs: opts.budgetMs ?? 1500,
      ...opts.config,
    },
    { redis, clock, ...opts.deps },
  );
  await app.ready();
  return {
    app,
    redis,
    clock,
    center,
    prefix,
    async twilio(path, params, headers = {}) {
      const url = PUBLIC_BASE + path;
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);
      const res = await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, ...headers },
        payload: new URLSearchParams(params).toString(),
      });
      return { status: res.statusCode, body: res.body, json: () => res.json() };
    },
    async metrics() {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      return res.body;
    },
    async close() {
      await app.close();
      if (!opts.redis) redis.disconnect();
    },
  };
}

function isCenter(c: unknown): c is CenterConfig {
  return typeof c === 'object' && c !== null && Object.isFrozen(c);
}

/** The parameters Twilio sends on every voice request (twilio.md section 2). */
export function callParams(callSid: string, extra: Record<string, string> = {}, from = '+15551230001'): Record<string, string> {
  return {
    CallSid: callSid,
    AccountSid: ACCOUNT_SID,
    From: from,
    To: '+18005550100',
    Caller: from,
    Called: '+18005550100',
    CallStatus: 'in-progress',
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
    FromCountry: 'US',
    FromCity: '',
    ...extra,
  };
}

/** Read one sample from Prometheus text: name{labels} value (labels given as a subset). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** The text of every <Say> in a TwiML document, in order. */
export function saysOf(xml: string): string[] {
  return [...xml.matchAll(/<Say[^>]*>([^<]*)<\/Say>/g)].map((m) => m[1]!.replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
}
