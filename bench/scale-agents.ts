/**
 * The scale run's agents, in a worker thread of their own (bench/scale.ts starts it): they sign in over the
 * agent WebSocket and take calls (accept, talk 20–60 s, hang up, wrap up, available again). An offer is
 * timed when this thread's loop reads it; the main thread plays Twilio for thousands of callers, and on its
 * loop an offer would wait behind the emulator's work, so the agents do not share that loop.
 *
 * Messages from the main thread: `go` (start measuring: the agents go available, 50 a second, and a ping
 * every 20 ms on the first socket), `stop` (answered with the figures). Posted: `ready` once all are signed
 * in, `result`, or `error`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

export interface AgentsInput {
  wsBase: string;
  tokens: string[];
  /** Sampling interval of the loop-delay histogram (ms). */
  resolutionMs: number;
}

export interface AgentsResult {
  type: 'result';
  offerLatency: number[];
  probeLag: number[];
  answered: number;
  agentErrors: number;
  /** This thread's loop delay over the window, the sampling interval taken off (ms). */
  loopDelayMs: { p50: number; p99: number; max: number };
}

interface AgentClient {
  ws: WebSocket;
  availableAt: number | null;
  callSid: string | null;
}

const input = workerData as AgentsInput;
const port = parentPort!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const offerLatency: number[] = [];
const probeLag: number[] = [];
let agentErrors = 0;
let answered = 0;
let measuring = false;
const agents: AgentClient[] = [];
const send = (a: AgentClient, m: Record<string, unknown>) => a.ws.readyState === WebSocket.OPEN && a.ws.send(JSON.stringify(m));
const available = (a: AgentClient) => {
  a.availableAt = performance.now();
};

function onMessage(a: AgentClient, raw: WebSocket.RawData): void {
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
}

async function signIn(): Promise<void> {
  for (let k = 0; k < input.tokens.length; k++) {
    const ws = new WebSocket(`${input.wsBase}?token=${encodeURIComponent(input.tokens[k]!)}`);
    const a: AgentClient = { ws, availableAt: null, callSid: null };
    agents.push(a);
    ws.on('message', (raw) => onMessage(a, raw));
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    if (k % 50 === 49) await sleep(20);
  }
}

const own = monitorEventLoopDelay({ resolution: input.resolutionMs });
let ping: NodeJS.Timeout | undefined;

async function go(): Promise<void> {
  // The lag probe: a ping on the first agent's socket every 20 ms.
  const probe = agents[0]!.ws;
  let pingAt = 0;
  probe.on('message', (raw) => {
    if ((JSON.parse(String(raw)) as { type: string }).type === 'pong' && measuring) probeLag.push(performance.now() - pingAt);
  });
  own.enable();
  measuring = true;
  ping = setInterval(() => {
    pingAt = performance.now();
    probe.send(JSON.stringify({ type: 'ping' }));
  }, 20);
  for (let k = 0; k < agents.length; k++) {
    const a = agents[k]!;
    available(a);
    send(a, { type: 'set_state', state: 'available' });
    if (k % 50 === 49) await sleep(1000);
  }
}

function stop(): AgentsResult {
  measuring = false;
  own.disable();
  clearInterval(ping);
  const ms = (ns: number) => ns / 1e6 - input.resolutionMs;
  const result: AgentsResult = {
    type: 'result',
    offerLatency,
    probeLag,
    answered,
    agentErrors,
    loopDelayMs: { p50: ms(own.percentile(50)), p99: ms(own.percentile(99)), max: ms(own.max) },
  };
  for (const a of agents) a.ws.close();
  return result;
}

port.on('message', (m: { type: 'go' | 'stop' }) => {
  if (m.type === 'go') void go().catch((err: unknown) => port.postMessage({ type: 'error', message: String(err) }));
  else port.postMessage(stop());
});
signIn().then(
  () => port.postMessage({ type: 'ready' }),
  (err: unknown) => port.postMessage({ type: 'error', message: String(err) }),
);
