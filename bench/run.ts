/**
 * npm run bench: webhook throughput and latency against a bare fastify route answering fixed TwiML
 * (measured in the same run: the ratio is the headline), Redis commands per webhook, queue operations
 * per second with 10,000 callers waiting and 1,000 agents, Redis memory per waiting caller, /metrics
 * scrape time and server memory. Prints a table and writes bench/results/latest.json.
 * Everything runs on loopback; loops are bounded in count and time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import twilio from 'twilio';
import { buildApp } from '../src/app.js';
import { loadCenterConfigFile } from '../src/config/callcenter.js';
import { startLocalRedis } from '../src/local-redis.js';
import { createAgentStore } from '../src/agents/store.js';
import { createQueueStore } from '../src/queue/store.js';
import { createKeys } from '../src/store/keys.js';
import { systemClock } from '../src/clock.js';

const TOKEN = 'bench-auth-token-0123456789';
const ACCOUNT = 'AC' + 'b'.repeat(32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const sid = (p: string) => p + hex(32);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface LoadResult {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** Run `make()` requests from CONCURRENCY workers for SECONDS, with keep-alive fetch. */
async function load(base: string, make: (i: number) => { path: string; params: Record<string, string> }, publicBase: string): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  let i = 0;
  const end = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const r = make(i++);
      const sig = twilio.getExpectedTwilioSignature(TOKEN, publicBase + r.path, r.params);
      const t0 = performance.now();
      const res = await fetch(base + r.path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
        body: new URLSearchParams(r.params).toString(),
      });
      await res.text();
      lat.push(performance.now() - t0);
      if (res.status >= 400) errors++;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const secs = (performance.now() - t) / 1000;
  return { requests: lat.length, rps: lat.length / secs, p50ms: pct(lat, 50), p99ms: pct(lat, 99), errors };
}

const params = (callSid: string, extra: Record<string, string> = {}) => ({
  CallSid: callSid,
  AccountSid: ACCOUNT,
  From: '+1555' + String(Math.floor(1e6 + Math.random() * 8e6)),
  To: '+18005550100',
  CallStatus: 'in-progress',
  Direction: 'inbound',
  ApiVersion: '2010-04-01',
  ...extra,
});

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const redisProc = await startLocalRedis(dir);
  const redis = new Redis(redisProc.url);
  const center = await loadCenterConfigFile('config/switchboard.example.yaml');
  const prefix = 'bench:';
  const publicBase = 'http://127.0.0.1';
  const app = await buildApp(
    { center, publicBaseUrl: publicBase, twilioAuthToken: TOKEN, twilioAccountSid: ACCOUNT, twilioApiBaseUrl: 'http://127.0.0.1:9', callerHashKey: 'bench-caller-hash-key-0123456789', redisPrefix: prefix, supervisorToken: 'bench-supervisor-token-0123' },
    { redis, sweepEveryMs: 60_000 },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const appBase = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  // The baseline: a bare fastify route answering fixed TwiML.
  const bare = Fastify();
  const fixed = new twilio.twiml.VoiceResponse();
  fixed.say({}, 'Hello');
  const fixedXml = fixed.toString();
  bare.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, b, done) => done(null, b));
  bare.post('/*', async (_req, reply) => reply.type('text/xml').send(fixedXml));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareBase = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}`;

  const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
  const rows: Record<string, LoadResult & { ratio?: number; redisCommandsPerRequest?: number }> = {};

  rows.baseline = await load(bareBase, () => ({ path: '/twilio/voice', params: params(sid('CA')) }), publicBase);

  // Calls that are at the language menu, for the gather benchmark; queued calls for the waitUrl one.
  const atMenu: string[] = [];
  for (let k = 0; k < 2000; k++) {
    const c = sid('CA');
    atMenu.push(c);
    const p = params(c);
    await fetch(appBase + '/twilio/voice', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, publicBase + '/twilio/voice', p) }, body: new URLSearchParams(p).toString() }).then((r) => r.text());
  }
  const queues = createQueueStore(redis, createKeys(prefix), systemClock);
  const queued: string[] = [];
  for (let k = 0; k < 2000; k++) {
    const c = sid('CA');
    queued.push(c);
    await queues.enqueue({ queue: 'support', callSid: c, contactId: c, callerHash: hex(32), priority: 0, maxLength: 100_000, whenNoAgents: 'wait', serviceLevelSeconds: 20 });
  }

  const scenario = async (name: string, make: (i: number) => { path: string; params: Record<string, string> }) => {
    const before = await commands();
    const r = await load(appBase, make, publicBase);
    const after = await commands();
    rows[name] = { ...r, ratio: r.rps / rows.baseline!.rps, redisCommandsPerRequest: (after - before - 2) / r.requests };
  };
  await scenario('incoming call', () => ({ path: '/twilio/voice', params: params(sid('CA'), { CallStatus: 'ringing' }) }));
  await scenario('gather', (i) => ({ path: '/twilio/ivr/gather?node=language', params: params(atMenu[i % atMenu.length]!, { Digits: '9' }) }));
  await scenario('waitUrl', (i) => ({ path: '/twilio/queue/wait?queue=support', params: params(queued[i % queued.length]!, { QueuePosition: '5', QueueSid: 'QU' + 'c'.repeat(32), QueueTime: '30' }) }));
  await scenario('status callback', (i) => ({ path: '/twilio/status', params: params(atMenu[i % atMenu.length]!, { CallStatus: 'in-progress', SequenceNumber: String(i + 1) }) }));

  // Queue operations with 10,000 callers waiting and 1,000 agents.
  const kq = createKeys('benchq:');
  const q2 = createQueueStore(redis, kq, systemClock);
  const agents = createAgentStore(redis, kq, systemClock);
  const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  const enqueueSids: string[] = [];
  let t = performance.now();
  for (let k = 0; k < 10_000; k++) {
    const c = sid('CA');
    enqueueSids.push(c);
    await q2.enqueue({ queue: 'support', callSid: c, contactId: c, callerHash: hex(32), priority: k % 3, maxLength: 100_000, whenNoAgents: 'wait', serviceLevelSeconds: 20, language: 'en', ivrPath: 'language>hours>main-menu>to-support' });
  }
  const enqueuePerSec = 10_000 / ((performance.now() - t) / 1000);
  const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  for (let k = 0; k < 1000; k++) {
    await agents.upsertAgent({ id: `a${k}`, team: 'default', skills: ['support'], contact: `client:a${k}` });
    await agents.setState({ agentId: `a${k}`, to: 'available' });
  }
  // assign = claim a caller + reserve an agent (what routing does per offer)
  t = performance.now();
  for (let k = 0; k < 1000; k++) {
    const offerId = `of_bench${k}`;
    const c = await q2.claimNext({ queue: 'support', offerId, agentId: 'pending', deadline: Date.now() + 15_000 });
    if (c) await agents.reserve({ offerId, queue: 'support', callSid: c.callSid, requiredSkills: ['support'], strategy: 'longest_idle', deadline: Date.now() + 15_000 });
  }
  const assignPerSec = 1000 / ((performance.now() - t) / 1000);
  t = performance.now();
  const abandonN = 2000;
  for (let k = 5000; k < 5000 + abandonN; k++) {
    await q2.leave({ queue: 'support', callSid: enqueueSids[k]!, outcome: 'abandoned', waitSeconds: 40, shortAbandonSeconds: 5, serviceLevelSeconds: 20 });
  }
  const abandonPerSec = abandonN / ((performance.now() - t) / 1000);

  // /metrics scrape time
  const scrapes: number[] = [];
  for (let k = 0; k < 50; k++) {
    const t0 = performance.now();
    await fetch(appBase + '/metrics').then((r) => r.text());
    scrapes.push(performance.now() - t0);
  }

  const result = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { seconds: SECONDS, concurrency: CONCURRENCY },
    webhooks: rows,
    queue: {
      enqueuePerSec: Math.round(enqueuePerSec),
      assignPerSec: Math.round(assignPerSec),
      abandonPerSec: Math.round(abandonPerSec),
      redisBytesPerWaitingCaller: Math.round((memAfter - memBefore) / 10_000),
    },
    metricsScrapeMs: { p50: pct(scrapes, 50), p99: pct(scrapes, 99) },
    serverRssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };

  console.log(`\nSwitchboard benchmark (${SECONDS}s per scenario, ${CONCURRENCY} concurrent, ${result.machine.cpus} cores, ${result.machine.node})\n`);
  console.log('scenario          req/s    p50 ms   p99 ms   vs bare fastify   redis cmds/req   errors');
  for (const [name, r] of Object.entries(rows)) {
    console.log(
      `${name.padEnd(16)} ${r.rps.toFixed(0).padStart(6)}  ${r.p50ms.toFixed(2).padStart(7)}  ${r.p99ms.toFixed(2).padStart(7)}   ${(r.ratio ?? 1).toFixed(2).padStart(8)}          ${(r.redisCommandsPerRequest ?? 0).toFixed(1).padStart(6)}      ${r.errors}`,
    );
  }
  console.log(`\nqueue ops (10,000 waiting, 1,000 agents): enqueue ${result.queue.enqueuePerSec}/s, assign ${result.queue.assignPerSec}/s, abandon ${result.queue.abandonPerSec}/s`);
  console.log(`redis memory per waiting caller: ${result.queue.redisBytesPerWaitingCaller} bytes`);
  console.log(`/metrics scrape: p50 ${result.metricsScrapeMs.p50.toFixed(2)} ms, p99 ${result.metricsScrapeMs.p99.toFixed(2)} ms; server RSS ${result.serverRssMiB} MiB (app, load generator and Redis client in one process)`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', JSON.stringify(result, null, 2) + '\n');
  console.log('\nwritten: bench/results/latest.json');

  await app.close();
  await bare.close();
  redis.disconnect();
  await redisProc.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
