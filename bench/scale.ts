/**
 * The benchmark's scale run: 10,000 callers waiting, each asking its waitUrl about every 30 s (the Twilio
 * emulator places them through the IVR in real time and plays the hold music as 30 s), 1,000 agents signed
 * in over the agent WebSocket taking calls (accept, talk, hang up, wrap up, available again), new callers
 * arriving as fast as agents take them. This process plays Twilio (the emulator, its REST API on the port
 * the server was given), and the agents in a worker thread of their own (scale-agents.ts), so an offer is
 * not timed late because the emulator kept the loop busy; the server is the production process started by
 * bench/run.ts.
 *
 * Measured: offer latency (an agent becomes available with callers waiting, i.e. the caller can be served
 * → the agent's socket gets the offer: from the agent's set_state or wrap_up sent to the offer read), the
 * server's event-loop delay (its /metrics histogram), the agents' thread's own loop delay (what the bench
 * adds to an offer's latency at most), a ping on an agent socket every 20 ms (its round trip is an upper
 * bound of the server's lag), the server's CPU, Redis memory per waiting caller (INFO used_memory delta,
 * and MEMORY USAGE of one caller's keys) and waitUrl rate.
 */
import { Worker } from 'node:worker_threads';
import type { Redis } from 'ioredis';
import { systemClock } from '../src/clock.js';
import { createKeys } from '../src/store/keys.js';
import { createTwilioEmulator, type GatherContext, type GatherResponse } from '../src/sim/twilio/index.js';
import { info, pct, procSample } from './lib.js';
import type { AgentsInput, AgentsResult } from './scale-agents.js';

export interface ScaleOptions {
  redis: Redis;
  publicBase: string;
  token: string;
  account: string;
  number: string;
  restPort: number;
  serverPid: number;
  agents: number;
  callers: number;
  /** Agent token of agent k (as written in the bench's call-center file). */
  agentToken: (k: number) => string;
  agentContact: (k: number) => string;
}

export interface ScaleResult {
  callers: number;
  agents: number;
  measureSeconds: number;
  waitingAtStart: number;
  waitingAtEnd: number;
  offers: number;
  offerLatencyMs: { p50: number; p99: number; max: number };
  /**
   * The server's own event-loop delay over the measured window as /metrics gives it (nodejs_eventloop_lag_*:
   * prom-client's monitorEventLoopDelay histogram, whose samples are the time between two checks 10 ms
   * apart, so an idle loop reads 10 ms).
   */
  eventLoopLagMs: { p50: number; p99: number; max: number };
  /** The same less the 10 ms sampling interval: how late the loop was. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /**
   * The agents' thread's own event-loop delay over the window (the same histogram, 10 ms interval taken
   * off): an offer is timed when that loop reads it, so this bounds what the bench adds to an offer's latency.
   */
  benchLoopDelayMs: { p50: number; p99: number; max: number };
  /** Ping → pong on an agent socket every 20 ms, as the agents' thread sees it: an upper bound. */
  probeRoundTripMs: { p50: number; p99: number; max: number; probes: number };
  waitUrlPerSecond: number;
  webhooksPerSecond: number;
  answered: number;
  serverCpuPercent: number;
  serverRssMiB: number;
  redisBytesPerWaitingCaller: number;
  redisKeysOfOneCaller: Record<string, number>;
  emulatorErrors: number;
  agentErrors: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MEASURE_S = Number(process.env.BENCH_SCALE_SECONDS ?? 90);
/** prom-client's eventLoopMonitoringPrecision (its default, which the server keeps), and this process's. */
const LAG_RESOLUTION_MS = 10;
const HOLD = 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3';

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const wsBase = o.publicBase.replace('http', 'ws') + '/agent/ws';
  // Twilio's queue holds 5,000 calls at most (queue.d.ts), so the callers wait in two queues, half each.
  const keys = createKeys('sb:');
  // A queue's callers are its `ready` entries (claimable) and its `held` ones (being offered or bridged).
  const waitingKey = keys.queue('support').ready;
  const waiting = async () => {
    let n = 0;
    for (const q of ['support', 'billing'])
      n += Number(await o.redis.zcard(keys.queue(q).ready)) + Number(await o.redis.zcard(keys.queue(q).held));
    return n;
  };

  // Callers press 1 (English) at the language menu, then in turn 2 (support) or 1 (billing) and 2 (speak
  // with billing) at the main menu, and wait with no patience limit; the survey after the call gets no answer.
  let turn = 0;
  const gather = (ctx: GatherContext): GatherResponse => {
    const heard = ctx.heard.join(' ');
    if (heard.includes('For English, press 1')) return { digits: '1', delayMs: 200 };
    if (heard.includes('To speak with billing, press 2')) return { digits: '2', delayMs: 200 };
    if (heard.includes('For technical support, press 2')) return { digits: turn++ % 2 === 0 ? '2' : '1', delayMs: 200 };
    return null;
  };
  let webhooks = 0;
  let waitUrls = 0;
  const emu = await createTwilioEmulator({
    clock: systemClock,
    accountSid: o.account,
    authToken: o.token,
    webhookBase: o.publicBase,
    publicBaseUrl: o.publicBase,
    numbers: { [o.number]: { voiceUrl: '/twilio/voice', fallbackUrl: '/twilio/fallback', statusCallback: '/twilio/status' } },
    restPort: o.restPort,
    seed: 7,
    // Prompts are spoken fast so a waiting caller's cycle is the 30 s of hold music between announcements.
    wordsPerMinute: 3000,
    minSayMs: 100,
    playDurationMs: (url) => (url === HOLD ? 30_000 : 2_000),
    maxLogEntries: 100,
    maxSockets: 128,
  });
  emu.events.on('webhook', (e: { path: string }) => {
    webhooks++;
    if (e.path.startsWith('/twilio/queue/wait')) waitUrls++;
  });
  for (let k = 0; k < o.agents; k++) emu.registerEndpoint(o.agentContact(k), { answer: true, answerDelayMs: 300 });

  // The server sizes Twilio's queues for their maxLength at start-up, trying again until Twilio (this
  // emulator, started after the server) answers: wait for it, or the queues would hold 1,000 callers each.
  const sized = Date.now() + 60_000;
  const sizeOf = (q: string) => emu.queueRegistry.byFriendlyName(q)?.maxSize ?? 0;
  while ((sizeOf('support') < 5000 || sizeOf('billing') < 5000) && Date.now() < sized) await sleep(250);

  // Callers enter at a bounded rate until `callers` are waiting (each goes through 3 webhooks first).
  const mem0 = (await info(o.redis, 'memory')).get('used_memory') ?? 0;
  const place = () => emu.placeCall({ from: '+1555' + String(Math.floor(1e6 + Math.random() * 8e6)), to: o.number, behaviour: { gather } });
  const RAMP_PER_S = Number(process.env.BENCH_SCALE_RAMP ?? 250);
  for (let k = 0; k < o.callers; k++) {
    place();
    if (k % Math.round(RAMP_PER_S / 10) === 0) await sleep(100);
  }
  const deadline = Date.now() + 120_000;
  while ((await waiting()) < o.callers * 0.99 && Date.now() < deadline) await sleep(500);
  const waitingAtStart = await waiting();
  const mem1 = (await info(o.redis, 'memory')).get('used_memory') ?? 0;
  const keysOfOne: Record<string, number> = {};
  const one = (await o.redis.zrange(waitingKey, 0, 0))[0];
  if (one) {
    for (const key of await o.redis.keys(`*${one}*`))
      keysOfOne[key.replace(one, '<CallSid>')] = Number(await o.redis.memory('USAGE', key, 'SAMPLES', '0'));
  }

  // 1,000 agents sign in (not yet available), in their own thread (scale-agents.ts).
  // (A worker does not take tsx from the command line: its entry registers tsx, then loads the TypeScript.)
  const entry = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(new URL('./scale-agents.ts', import.meta.url).href)}); })`;
  const worker = new Worker(entry, {
    eval: true,
    workerData: {
      wsBase,
      tokens: Array.from({ length: o.agents }, (_, k) => o.agentToken(k)),
      resolutionMs: LAG_RESOLUTION_MS,
    } satisfies AgentsInput,
  });
  const fromAgents = <T>(type: string): Promise<T> =>
    new Promise((res, rej) => {
      const on = (m: { type: string; message?: string }) => {
        if (m.type === type) res(m as T);
        else if (m.type === 'error') rej(new Error(`scale agents: ${m.message}`));
        else return;
        worker.off('message', on);
      };
      worker.on('message', on);
    });
  await fromAgents('ready');

  // Agents go available over 20 s; new callers arrive at about the rate agents take them.
  const lagMetric = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${o.publicBase}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^nodejs_eventloop_lag_(p50|p99|max)_seconds (\S+)$/gm)) out[m[1]!] = Number(m[2]) * 1000;
    return out;
  };
  await lagMetric(); // the histogram restarts at each scrape: the next one covers the measured window
  const cpu0 = procSample(o.serverPid);
  const t0 = performance.now();
  const web0 = webhooks;
  const wait0 = waitUrls;
  worker.postMessage({ type: 'go' });
  const arrivals = setInterval(() => {
    for (let k = 0; k < 4; k++) place();
  }, 200);
  await sleep(Math.max(0, MEASURE_S * 1000 - (performance.now() - t0)));
  const result0 = fromAgents<AgentsResult>('result');
  worker.postMessage({ type: 'stop' });
  const { offerLatency, probeLag, answered, agentErrors, loopDelayMs } = await result0;
  clearInterval(arrivals);
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = procSample(o.serverPid);
  const lag = await lagMetric();
  const waitingAtEnd = await waiting();
  const result: ScaleResult = {
    callers: o.callers,
    agents: o.agents,
    measureSeconds: Math.round(secs),
    waitingAtStart,
    waitingAtEnd,
    offers: offerLatency.length,
    offerLatencyMs: { p50: pct(offerLatency, 50), p99: pct(offerLatency, 99), max: Math.max(...offerLatency) },
    eventLoopLagMs: { p50: lag.p50 ?? NaN, p99: lag.p99 ?? NaN, max: lag.max ?? NaN },
    eventLoopDelayMs: {
      p50: (lag.p50 ?? NaN) - LAG_RESOLUTION_MS,
      p99: (lag.p99 ?? NaN) - LAG_RESOLUTION_MS,
      max: (lag.max ?? NaN) - LAG_RESOLUTION_MS,
    },
    benchLoopDelayMs: loopDelayMs,
    probeRoundTripMs: { p50: pct(probeLag, 50), p99: pct(probeLag, 99), max: Math.max(...probeLag), probes: probeLag.length },
    waitUrlPerSecond: (waitUrls - wait0) / secs,
    webhooksPerSecond: (webhooks - web0) / secs,
    answered,
    serverCpuPercent: ((cpu1.cpuUs - cpu0.cpuUs) / 1e6 / secs) * 100,
    serverRssMiB: Math.round(cpu1.rssBytes / 2 ** 20),
    redisBytesPerWaitingCaller: Math.round((mem1 - mem0) / Math.max(1, waitingAtStart)),
    redisKeysOfOneCaller: keysOfOne,
    emulatorErrors: emu.errors.length,
    agentErrors,
  };
  console.log(`scale: ${JSON.stringify(result)}`);
  for (const e of emu.errors.slice(0, 5)) console.log('emulator error:', JSON.stringify(e).slice(0, 400));
  await worker.terminate();
  await emu.close();
  return result;
}
