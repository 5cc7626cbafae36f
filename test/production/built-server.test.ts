/**
 * The built server, as deployed: `scripts/build.mjs` (what `npm run build` runs) compiled from the
 * current sources (test/helpers/build.ts), started with plain `node <build>/main.js` from a directory
 * that is not the repository (so nothing is read from src/), against a real redis-server, with its
 * configuration in the environment (a public PUBLIC_BASE_URL, so no development secret is allowed; the
 * auth and supervisor tokens from `*_FILE` files). A signed call goes through it over real HTTP
 * (supertest against the listening server): language menu, main menu, into the support queue, then the
 * caller hangs up; Redis, the supervisor API and /metrics agree at each step, and the pages' static
 * files are served.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { freshBuild } from '../helpers/build.js';
import { REPO_ROOT } from '../helpers/promql.js';
import { startInstance, writeCenterFile, type Instance } from '../helpers/instances.js';
import { newRedis, redisUrl, uniquePrefix } from '../helpers/redis.js';
import type { RedisClient } from '../../src/store/redis.js';

const PUBLIC = 'https://switchboard.example.com';
const AUTH_TOKEN = 'built-server-auth-token-0123456789';
const SUPERVISOR = 'built-server-supervisor-token-0123';
const CALL_SID = 'CA' + 'b'.repeat(32);
const FROM = '+15557650001';

let dir: string;
let build: string;
let server: Instance;
let redis: RedisClient;
const prefix = uniquePrefix('built');

beforeAll(async () => {
  build = await freshBuild();
  dir = mkdtempSync(join(tmpdir(), 'sb-built-'));
  const center = writeCenterFile(dir, { agents: ['ann'] });
  // Two secrets as a container platform hands them over: in files named by *_FILE.
  writeFileSync(join(dir, 'auth-token'), `${AUTH_TOKEN}\n`);
  writeFileSync(join(dir, 'supervisor-token'), `${SUPERVISOR}\n`);
  redis = newRedis();
  server = await startInstance(
    'built',
    {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      PUBLIC_BASE_URL: PUBLIC,
      TWILIO_ACCOUNT_SID: 'AC' + 'c'.repeat(32),
      TWILIO_AUTH_TOKEN_FILE: join(dir, 'auth-token'),
      CALLER_HASH_KEY: 'built-server-caller-hash-key-0123',
      SUPERVISOR_TOKEN_FILE: join(dir, 'supervisor-token'),
      SWITCHBOARD_CONFIG: center,
      LOG_LEVEL: 'warn',
    },
    { main: join(build, 'main.js'), cwd: dir },
  );
}, 300_000);

afterAll(async () => {
  await server?.stop();
  redis?.disconnect();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** POST signed form parameters to a webhook URL (absolute, as the TwiML links it) on the listening server. */
function twilioPost(url: string, params: Record<string, string>) {
  const u = new URL(url, PUBLIC);
  expect(u.origin).toBe(PUBLIC);
  return request(server.base)
    .post(u.pathname + u.search)
    .type('form')
    .set('x-twilio-signature', twilio.getExpectedTwilioSignature(AUTH_TOKEN, u.href, params))
    .send(params);
}

const call = (extra: Record<string, string> = {}) => ({
  CallSid: CALL_SID,
  AccountSid: 'AC' + 'c'.repeat(32),
  From: FROM,
  To: '+18005550100',
  CallStatus: 'in-progress',
  Direction: 'inbound',
  ApiVersion: '2010-04-01',
  ...extra,
});

const attr = (xml: string, tag: string, name: string): string => {
  const m = new RegExp(`<${tag}\\b[^>]*\\b${name}="([^"]*)"`).exec(xml);
  if (!m) throw new Error(`no <${tag} ${name}> in ${xml}`);
  return m[1]!.replace(/&amp;/g, '&');
};

const metric = (text: string, name: string, labels: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

describe('the built server (node dist/main.js)', { timeout: 60_000 }, () => {
  it('serves a signed call over HTTP: menus, queue, hang-up, with Redis, the API and /metrics in step', async () => {
    const keys = createKeys(prefix).queue('support');

    // Forged and unsigned requests are refused before anything else.
    await request(server.base).post('/twilio/voice').type('form').send(call()).expect(400);
    await request(server.base).post('/twilio/voice').type('form').set('x-twilio-signature', 'forged').send(call()).expect(403);

    const voice = await twilioPost(`${PUBLIC}/twilio/voice`, call({ CallStatus: 'ringing' }))
      .expect(200)
      .expect('content-type', /xml/);
    expect(voice.text).toContain('For English, press 1');
    const menu = await twilioPost(attr(voice.text, 'Gather', 'action'), call({ Digits: '1' })).expect(200);
    expect(menu.text).toContain('For technical support, press 2');
    const hold = await twilioPost(attr(menu.text, 'Gather', 'action'), call({ Digits: '2' })).expect(200);
    expect(hold.text).toContain('<Enqueue');

    // Waiting: in Redis (under the configured prefix), in the supervisor API and in /metrics.
    expect(await redis.zcard(keys.ready)).toBe(1); // the queue's claimable entries
    expect(await redis.hgetall(keys.caller(CALL_SID))).toMatchObject({ s: 'waiting', p: 'language>hours>main-menu>to-support' }); // state, ivrPath
    await request(server.base).get('/api/queues').expect(401);
    const queues = await request(server.base).get('/api/queues').set('authorization', `Bearer ${SUPERVISOR}`).expect(200);
    expect(JSON.stringify(queues.body)).toMatch(/"support"/);
    let metrics = (await request(server.base).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'switchboard_calls_offered_total', 'queue="support"')).toBe(1);
    expect(metric(metrics, 'switchboard_calls_abandoned_total', 'queue="support"')).toBe(0);

    // The caller hangs up while waiting: Twilio calls the Enqueue action with QueueResult=hangup.
    const action = attr(hold.text, 'Enqueue', 'action');
    await twilioPost(action, call({ QueueResult: 'hangup', QueueTime: '40', QueueSid: 'QU' + 'd'.repeat(32) })).expect(200);
    expect((await redis.zcard(keys.ready)) + (await redis.zcard(keys.held))).toBe(0);
    metrics = (await request(server.base).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'switchboard_calls_offered_total', 'queue="support"')).toBe(1);
    expect(metric(metrics, 'switchboard_calls_abandoned_total', 'queue="support"')).toBe(1);
    expect(metrics).not.toContain(FROM.slice(1));

    // The same hang-up retried by Twilio changes nothing twice.
    await twilioPost(action, call({ QueueResult: 'hangup', QueueTime: '40', QueueSid: 'QU' + 'd'.repeat(32) })).expect(200);
    metrics = (await request(server.base).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'switchboard_calls_abandoned_total', 'queue="support"')).toBe(1);
  });

  it('the built capacity CLI (package.json bin) prints bare JSON and the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
    expect(pkg.bin['switchboard-capacity']).toBe('dist/capacity/cli.js');
    const cli = join(build, '..', pkg.bin['switchboard-capacity']!);
    const version = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${pkg.version}\n`);
    const run = spawnSync(
      process.execPath,
      [cli, '--arrivals-per-hour', '200', '--aht-seconds', '180', '--target-seconds', '20', '--json'],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ agents: expect.any(Number) });
    // npm with -s prints no banner, so `npm run -s capacity -- … --json | jq` gets JSON only.
    const viaNpm = spawnSync('npm', ['run', '-s', 'capacity', '--', '--version'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(viaNpm.status).toBe(0);
    expect(viaNpm.stdout).toBe(`${pkg.version}\n`);
  });

  it('serves the pages and their static files from the build, and reports Redis in /health', async () => {
    const desk = await request(server.base).get('/desk').expect(200).expect('content-type', /html/);
    const script = /<script[^>]*src="([^"]+)"/.exec(desk.text)?.[1];
    expect(script).toBeDefined();
    await request(server.base)
      .get(new URL(script!, `${server.base}/desk`).pathname)
      .expect(200)
      .expect('content-type', /javascript/);
    const health = await request(server.base).get('/health').expect(200);
    expect(JSON.stringify(health.body)).toMatch(/redis/i);
  });
});
