/**
 * The benchmark's scale run: 10,000 callers waiting, each asking its waitUrl about every 30 s (the Twilio
 * emulator places them through the IVR in real time and plays the hold music as 30 s), 1,000 agents signed
 * in over the agent WebSocket taking calls (accept, talk, hang up, wrap up, available again), new callers
 * arriving as fast as agents take them. This process plays Twilio (the emulator, its REST API on the port
 * the server was given) and the agents; the server is the production process started by bench/run.ts.
 *
 * Measured: offer latency (an agent becomes available with callers waiting, i.e. the caller can be served
 * → the agent's socket gets the offer), the server's event-loop lag as seen from outside (a ping on an agent
 * socket every 20 ms: its round trip is an upper bound of the lag), the server's CPU, Redis memory per
 * waiting caller (INFO used_memory delta, and MEMORY USAGE of one caller's keys) and waitUrl rate.
 */
import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { systemClock } from '../src/clock.js';
import { createKeys } from '../src/store/keys.js';
import { createTwilioEmulator, type GatherContext, type GatherResponse } from '../src/sim/twilio/index.js';
import { info, pct, procSample } from './lib.js';

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
  /** The server's own event-loop delay over the measured window (nodejs_eventloop_lag_* of /metrics). */
  eventLoopLagMs: { p50: number; p99: number; max: number };
  /** Ping → pong on an agent socket every 20 ms, as this (busy) process sees it: an upper bound. */
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
const HOLD = 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3';

interface AgentClient {
  ws: WebSocket;
  availableAt: number | null;
  callSid: string | null;
}

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

  // 1,000 agents sign in (not yet available).
  const offerLatency: number[] = [];
  let agentErrors = 0;
  let answered = 0;
  const agents: AgentClient[] = [];
  const send = (a: AgentClient, m: Record<string, unknown>) => a.ws.readyState === WebSocket.OPEN && a.ws.send(JSON.stringify(m));
  const available = (a: AgentClient) => {
    a.availableAt = performance.now();
  };
  let measuring = false;
  for (let k = 0; k < o.agents; k++) {
    const ws = new WebSocket(`${wsBase}?token=${encodeURIComponent(o.agentToken(k))}`);
    const a: AgentClient = { ws, availableAt: null, callSid: null };
    agents.push(a);
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string; offerId?: string; callSid?: string; status?: string; code?: string };
      if (m.type === 'offer') {
        if (measuring && a.availableAt !== null) offerLatency.push(performance.now() - a.availableAt);
        a.availableAt = null;
        setTimeout(() => send(a, { type: 'accept', offerId: m.offerId }), 200);
      } else if (m.type === 'call' && m.status === 'connected' && a.callSid !== m.callSid) {
        a.callSid = m.callSid ?? null;
        answered++;
        // Talk 20–60 s, then hang up.
        setTimeout(() => send(a, { type: 'hangup', callSid: m.callSid }), 20_000 + Math.random() * 40_000);
      } else if (m.type === 'call' && m.status === 'failed') {
        available(a);
      } else if (m.type === 'wrap_up') {
        setTimeout(() => {
          send(a, { type: 'wrap_up', callSid: m.callSid, disposition: 'resolved' });
          a.callSid = null;
          available(a);
        }, 1000);
      } else if (m.type === 'error') {
        agentErrors++;
      }
    });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    if (k % 50 === 49) await sleep(20);
  }

  // The lag probe: a ping on one more agent socket every 20 ms.
  const probeLag: number[] = [];
  const probe = agents[0]!.ws;
  let pingAt = 0;
  probe.on('message', (raw) => {
    if ((JSON.parse(String(raw)) as { type: string }).type === 'pong' && measuring) probeLag.push(performance.now() - pingAt);
  });

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
  measuring = true;
  const ping = setInterval(() => {
    pingAt = performance.now();
    probe.send(JSON.stringify({ type: 'ping' }));
  }, 20);
  for (let k = 0; k < agents.length; k++) {
    const a = agents[k]!;
    available(a);
    send(a, { type: 'set_state', state: 'available' });
    if (k % 50 === 49) await sleep(1000);
  }
  const arrivals = setInterval(() => {
    for (let k = 0; k < 4; k++) place();
  }, 200);
  await sleep(Math.max(0, MEASURE_S * 1000 - (performance.now() - t0)));
  measuring = false;
  clearInterval(ping);
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
  for (const a of agents) a.ws.close();
  await emu.close();
  return result;
}
