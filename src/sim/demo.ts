/**
 * `npm run demo`: the whole call center in one process, in real time, with no configuration. Starts a
 * local redis-server (unless REDIS_URL is set), the Twilio emulator, the app on PORT (default 3000),
 * one simulated agent per configured agent (over the real WebSocket) and Poisson caller traffic, then
 * prints one progress line every 2 s read from the app's /metrics.
 *
 *   npm run demo [-- --duration SECONDS]
 *
 * Env: PORT, REDIS_URL, LOG_LEVEL (default warn), SWITCHBOARD_CONFIG, DEMO_CALLS_PER_HOUR (default 450,
 * one call every 8 s), DEMO_KEEP_HOURS=1 to keep the config's business hours (by default the demo treats
 * the support hours as always open, so it works at any time of day), DEMO_WPM (speed of <Say>, default 150
 * words per minute; raise it to get callers through the IVR faster), DEMO_TRACE=1 to print every webhook and
 * REST request of the emulator to stderr, DEMO_DESK_AGENT=<agent id> to leave that agent unsimulated so you can
 * take their calls yourself on the agent desk. SIGINT/SIGTERM stop everything.
 *
 * It prints the agent desk and wallboard URLs with usable tokens (in the URL fragment, which the browser
 * keeps to itself).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, loggerOptions } from '../app.js';
import { systemClock } from '../clock.js';
import { loadCenterConfigFile, type CenterConfig } from '../config/callcenter.js';
import { ConfigError, loadEnv, type EnvConfig } from '../config/env.js';
import { startLocalRedis, type LocalRedis } from '../local-redis.js';
import { connectRedis } from '../store/redis.js';
import { startSimulatedAgent, type Disposition, type SimulatedAgent } from './agents.js';
import { demoCallers } from './demo-callers.js';
import {
  createTwilioEmulator,
  startTraffic,
  type RestLogEntry,
  type Traffic,
  type TwilioEmulator,
  type WebhookLogEntry,
} from './twilio/index.js';

const NUMBER = '+18005550100';

function parseDuration(argv: string[]): number | undefined {
  const i = argv.indexOf('--duration');
  const raw = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--duration='))?.slice('--duration='.length);
  if (raw === undefined) return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new ConfigError(`--duration must be a positive number of seconds, got ${raw}`);
  return s;
}

/** Sum every sample of a metric (all label sets) in Prometheus text format. */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) total += v;
  }
  return total;
}

function exp(mean: number): number {
  return -mean * Math.log(1 - Math.random());
}

/** Unless DEMO_KEEP_HOURS=1, every hours set becomes open all week, so the demo works at any hour (the config is frozen: copy it). */
function demoCenter(loaded: CenterConfig): CenterConfig {
  if (process.env.DEMO_KEEP_HOURS === '1') return loaded;
  const all: [string, string][] = [['00:00', '24:00']];
  return {
    ...loaded,
    hours: Object.fromEntries(
      Object.entries(loaded.hours).map(([id, h]) => [
        id,
        { ...h, weekly: { mon: all, tue: all, wed: all, thu: all, fri: all, sat: all, sun: all }, holidays: [] },
      ]),
    ),
  };
}

/** REDIS_URL, or a local redis-server in a temporary directory (removed by `stop`). */
async function demoRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-demo-'));
  const local: LocalRedis = await startLocalRedis(join(dataDir, 'redis'));
  return {
    url: local.url,
    stop: async () => {
      await local.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The Twilio emulator owning the demo's number; DEMO_TRACE=1 prints its every webhook and REST request. */
async function demoEmulator(env: EnvConfig, base: string): Promise<TwilioEmulator> {
  const emu = await createTwilioEmulator({
    clock: systemClock,
    accountSid: env.twilioAccountSid,
    authToken: env.twilioAuthToken,
    webhookBase: base,
    publicBaseUrl: base,
    numbers: { [NUMBER]: { voiceUrl: '/twilio/voice', fallbackUrl: '/twilio/fallback', statusCallback: '/twilio/status' } },
    seed: 42,
    wordsPerMinute: Number(process.env.DEMO_WPM ?? 150),
  });
  if (process.env.DEMO_TRACE === '1') {
    const t0 = Date.now();
    const ts = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
    emu.events.on('webhook', (e: WebhookLogEntry) => console.warn(`${ts()} webhook ${e.callSid?.slice(0, 8) ?? ''} ${e.method} ${e.path}`));
    emu.events.on('rest', (e: RestLogEntry) => console.warn(`${ts()} rest    ${e.method} ${e.path} -> ${e.status}`));
  }
  return emu;
}

/**
 * Print the wallboard's and each agent desk's URL (tokens in the fragment), give every agent a phone that
 * answers, and simulate every agent but DEMO_DESK_AGENT over the real WebSocket.
 */
function demoAgents(
  center: CenterConfig,
  env: EnvConfig,
  base: string,
  emu: TwilioEmulator,
  out: (line: string) => void,
): SimulatedAgent[] {
  const agents: SimulatedAgent[] = [];
  const deskAgent = process.env.DEMO_DESK_AGENT;
  if (deskAgent && !center.agents[deskAgent])
    throw new ConfigError(`DEMO_DESK_AGENT: no agent "${deskAgent}" in the config (agents: ${Object.keys(center.agents).join(', ')})`);
  out(`  wallboard:  ${base}/wallboard#token=${encodeURIComponent(env.supervisorToken)}`);
  for (const a of Object.values(center.agents)) {
    if (!a.token) continue;
    const who =
      a.id === deskAgent ? 'yours: not simulated, take the calls here' : `simulated; DEMO_DESK_AGENT=${a.id} to take them yourself`;
    out(`  agent desk: ${base}/desk#token=${encodeURIComponent(a.token)}   (${a.name}, ${who})`);
  }
  const dispositions: Disposition[] = ['resolved', 'resolved', 'resolved', 'not_resolved', 'escalated'];
  for (const a of Object.values(center.agents)) {
    emu.registerEndpoint(a.contact, { answer: true, answerDelayMs: 1000 });
    if (a.id === deskAgent) continue;
    if (!a.token) {
      console.warn(`demo: agent ${a.id} has no plain token in the config; not simulated`);
      continue;
    }
    agents.push(
      startSimulatedAgent({
        wsUrl: `${base.replace(/^http/, 'ws')}/agent/ws`,
        token: a.token,
        clock: systemClock,
        acceptDelayMs: 1500,
        handleTimeMs: () => Math.round(5_000 + exp(15_000)),
        wrapUpMs: () => Math.round(2_000 + exp(3_000)),
        disposition: () => dispositions[Math.floor(Math.random() * dispositions.length)] ?? 'resolved',
        breakEvery: 8,
        log: (line) => out(`  agent ${line}`),
      }),
    );
  }
  return agents;
}

/** One progress line from the app's /metrics: calls so far, waiting, answered, abandoned, handled, service level. */
function progressLine(text: string, seconds: number, calls: number): string {
  const offered = sumMetric(text, 'switchboard_calls_offered_total');
  const answered = sumMetric(text, 'switchboard_calls_answered_total');
  const abandoned = sumMetric(text, 'switchboard_calls_abandoned_total');
  const shortAb = sumMetric(text, 'switchboard_calls_short_abandoned_total');
  const withinSl = sumMetric(text, 'switchboard_calls_answered_within_sl_total');
  const waiting = sumMetric(text, 'switchboard_queue_waiting');
  const handled = sumMetric(text, 'switchboard_calls_handled_total');
  const denom = offered - shortAb;
  const sl = denom > 0 ? `${((100 * withinSl) / denom).toFixed(0)}%` : 'n/a';
  const t = seconds.toFixed(0).padStart(4);
  return `[t=${t}s] calls=${calls} offered=${offered} waiting=${waiting} answered=${answered} abandoned=${abandoned} handled=${handled} service_level=${sl}`;
}

async function main(): Promise<void> {
  const durationS = parseDuration(process.argv.slice(2));
  const env = loadEnv(process.env);
  const center = demoCenter(await loadCenterConfigFile(env.configPath));
  const port = env.port;
  const base = `http://127.0.0.1:${port}`;
  const out = (line: string): void => void process.stdout.write(line + '\n');

  const redisServer = await demoRedis();
  const redis = connectRedis({ url: redisServer.url, clusterNodes: undefined });
  const emu = await demoEmulator(env, base);
  const app = await buildApp(
    {
      center,
      publicBaseUrl: base,
      twilioAuthToken: env.twilioAuthToken,
      twilioAccountSid: env.twilioAccountSid,
      twilioApiBaseUrl: emu.restBaseUrl,
      callerHashKey: env.callerHashKey,
      redisPrefix: `${env.redisPrefix}demo-${Date.now().toString(36)}:`,
      supervisorToken: env.supervisorToken,
      instanceId: 'demo',
    },
    { redis, logger: loggerOptions(process.env.LOG_LEVEL ?? 'warn') },
  );
  await app.listen({ port, host: '127.0.0.1' });
  out(`switchboard demo: app on ${base}, Twilio emulator REST on ${emu.restBaseUrl}, redis ${redisServer.url}`);
  const agents = demoAgents(center, env, base, emu, out);

  const pop = demoCallers(Number(process.env.DEMO_CALLS_PER_HOUR ?? 450));
  // One caller right away, then Poisson arrivals.
  const first = pop.nextCaller();
  emu.placeCall({ from: first.from, to: NUMBER, behaviour: first.behaviour });
  const traffic: Traffic = startTraffic(emu, pop, { to: NUMBER });

  const started = Date.now();
  const progress = async (): Promise<void> => {
    try {
      const res = await fetch(`${base}/metrics`);
      out(progressLine(await res.text(), (Date.now() - started) / 1000, traffic.calls.length + 1));
    } catch (e) {
      console.warn(`demo: cannot read /metrics: ${(e as Error).message}`);
    }
  };
  const ticker = setInterval(() => void progress(), 2000);

  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    await progress();
    out(`switchboard demo: stopping (${why})`);
    traffic.stop();
    await Promise.all(agents.map((a) => a.stop()));
    await app.close();
    await emu.close();
    redis.disconnect();
    await redisServer.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (durationS !== undefined) setTimeout(() => void stop(`--duration ${durationS}`), durationS * 1000);
}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? `demo: ${e.message}` : `demo: failed: ${String((e as Error).stack ?? e)}`);
  process.exit(1);
});
