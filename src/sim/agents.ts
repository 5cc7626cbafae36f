/**
 * A simulated agent over the real agent WebSocket (docs/agent-protocol.md): says hello, goes available,
 * accepts offers after a delay, hangs up after a handle time, finishes wrap-up with a disposition and
 * reconnects when the socket drops, to the next of its server URLs when it has several (an instance that
 * died). Commands go out on whichever socket is open when they are due, so a call in progress survives a
 * reconnect; an offer not yet accepted is dropped with its socket (the desktop lost it; the server's offer
 * deadline re-offers the caller). All waiting is on the given Clock. Used by the demo (src/sim/demo.ts) and
 * the instance-failure test.
 * The agent's phone is the emulator's endpoint for its contact (register it with answer: true).
 */
import WebSocket from 'ws';
import type { Clock } from '../clock.js';

export type Disposition = 'resolved' | 'not_resolved' | 'escalated';

export interface SimulatedAgentOptions {
  /** ws://HOST/agent/ws */
  wsUrl: string;
  /** Other instances' ws:// URLs: after a lost connection the agent reconnects to the next one (round robin). */
  otherWsUrls?: string[];
  token: string;
  clock: Clock;
  /** Uniform [0, 1) source for break decisions (default Math.random). */
  rng?: () => number;
  acceptDelayMs: number;
  handleTimeMs: () => number;
  wrapUpMs: () => number;
  disposition: () => Disposition;
  /** Take a short break after about every N handled calls (chance 1/N per call); undefined = never. */
  breakEvery?: number;
  /** Length of a break (default 10 s). */
  breakMs?: number;
  /** Delay before reconnecting after the socket closes (default 1000 ms). */
  reconnectDelayMs?: number;
  log?: (line: string) => void;
  /**
   * Called when a command is sent; the function it returns is called when the server's reply (ack, error,
   * welcome) arrives or the socket closes. Virtual-time drivers use it to hold the clock while a command is
   * on the wire (e.g. `() => emu.inflight.begin()`).
   */
  track?: () => () => void;
  /** Every frame received from the server, after it was handled (virtual-time drivers count pushes). */
  onFrame?: (m: { type: string }) => void;
}

export interface SimulatedAgentStats {
  connects: number;
  /** Sign-ins after the first (a welcome on a new socket). */
  reconnects: number;
  /** The instance named in each welcome, in order. */
  instances: string[];
  offers: number;
  accepted: number;
  connected: number;
  hungUp: number;
  wrapUps: number;
  breaks: number;
  errors: number;
  lastError?: string;
}

export interface SimulatedAgent {
  readonly stats: SimulatedAgentStats;
  stop(): Promise<void>;
}

interface ServerFrame {
  type: string;
  offerId?: string;
  callSid?: string;
  status?: string;
  code?: string;
  message?: string;
  agentId?: string;
  state?: string;
  reason?: string;
  instance?: string;
}

/** Frames that answer a command of ours (everything else is pushed by the server). */
const REPLIES = new Set(['ack', 'error', 'welcome', 'pong']);

export function startSimulatedAgent(o: SimulatedAgentOptions): SimulatedAgent {
  const rng = o.rng ?? Math.random;
  const log = o.log ?? (() => {});
  const stats: SimulatedAgentStats = {
    connects: 0,
    reconnects: 0,
    instances: [],
    offers: 0,
    accepted: 0,
    connected: 0,
    hungUp: 0,
    wrapUps: 0,
    breaks: 0,
    errors: 0,
  };
  const timers = new Set<() => void>();
  let stopped = false;
  let ws: WebSocket | undefined;
  let name = '?';
  const urls = [o.wsUrl, ...(o.otherWsUrls ?? [])];
  let urlAt = 0;
  let welcomed = 0;

  const pendingAccepts = new Map<string, () => void>();
  // A desk that reconnects is told its current offer, call and wrap-up again: each is acted on once.
  const accepted = new Set<string>();
  const talking = new Set<string>();
  const wrapping = new Set<string>();
  const later = (ms: number, fn: () => void): (() => void) => {
    const cancel = o.clock.setTimer(Math.max(0, ms), () => {
      timers.delete(cancel);
      if (!stopped) fn();
    });
    timers.add(cancel);
    return () => {
      timers.delete(cancel);
      cancel();
    };
  };
  // Replies the server owes us on the open socket, oldest first (it answers one socket's commands in order).
  const owed: (() => void)[] = [];
  const settleOwed = (): void => {
    for (const done of owed.splice(0)) done();
  };
  /** Send on the socket open now (commands are about the agent, not about the socket they were decided on). */
  const send = (msg: Record<string, unknown>): void => {
    if (ws && ws.readyState === WebSocket.OPEN) {
      if (o.track) owed.push(o.track());
      ws.send(JSON.stringify(msg));
    }
  };

  const connect = (): void => {
    if (stopped) return;
    const sock = new WebSocket(urls[urlAt % urls.length]!);
    ws = sock;
    sock.on('open', () => {
      stats.connects++;
      send({ type: 'hello', token: o.token });
    });
    sock.on('message', (data: WebSocket.RawData) => {
      let m: ServerFrame;
      try {
        m = JSON.parse(data.toString()) as ServerFrame;
      } catch {
        return;
      }
      if (sock !== ws) return;
      handle(m);
      if (REPLIES.has(m.type)) owed.shift()?.();
      o.onFrame?.(m);
    });
    sock.on('error', (e: Error) => {
      stats.errors++;
      stats.lastError = e.message;
    });
    sock.on('close', () => {
      if (ws !== sock) return;
      ws = undefined;
      settleOwed();
      // Offers shown on this socket are gone with it; the server's offer deadline takes care of them.
      for (const cancel of pendingAccepts.values()) cancel();
      pendingAccepts.clear();
      if (urls.length > 1) urlAt++;
      if (!stopped) later(o.reconnectDelayMs ?? 1000, connect);
    });
  };

  const handle = (m: ServerFrame): void => {
    switch (m.type) {
      case 'welcome':
        name = m.agentId ?? name;
        if (welcomed++ > 0) stats.reconnects++;
        stats.instances.push(m.instance ?? '?');
        log(`${name}: signed in${m.instance ? ` on ${m.instance}` : ''}`);
        // Back after a lost connection while holding an offer, on a call or in wrap-up: carry on (the
        // timers for the call keep running); otherwise go available.
        if (m.state !== 'reserved' && m.state !== 'on_call' && m.state !== 'wrap_up') send({ type: 'set_state', state: 'available' });
        break;
      case 'offer': {
        const offerId = m.offerId;
        if (!offerId || accepted.has(offerId) || pendingAccepts.has(offerId)) break;
        stats.offers++;
        pendingAccepts.set(
          offerId,
          later(o.acceptDelayMs, () => {
            pendingAccepts.delete(offerId);
            accepted.add(offerId);
            stats.accepted++;
            send({ type: 'accept', offerId });
          }),
        );
        break;
      }
      case 'offer_cancelled': {
        // The caller hung up or the offer timed out: do not accept it any more.
        const cancel = m.offerId ? pendingAccepts.get(m.offerId) : undefined;
        if (cancel && m.offerId) {
          cancel();
          pendingAccepts.delete(m.offerId);
        }
        break;
      }
      case 'call': {
        const callSid = m.callSid;
        if (m.status === 'connected' && callSid) {
          if (talking.has(callSid)) break;
          talking.add(callSid);
          stats.connected++;
          log(`${name}: talking on ${callSid.slice(0, 10)}…`);
          later(o.handleTimeMs(), () => {
            stats.hungUp++;
            send({ type: 'hangup', callSid });
          });
        } else if (m.status === 'failed') log(`${name}: phone did not connect on ${callSid ?? '?'}`);
        break;
      }
      case 'wrap_up': {
        const callSid = m.callSid;
        if (!callSid || wrapping.has(callSid)) break;
        talking.delete(callSid);
        wrapping.add(callSid);
        later(o.wrapUpMs(), () => {
          wrapping.delete(callSid);
          stats.wrapUps++;
          send({ type: 'wrap_up', callSid, disposition: o.disposition() });
          if (o.breakEvery && rng() < 1 / o.breakEvery) {
            stats.breaks++;
            send({ type: 'set_state', state: 'break', reason: 'coffee' });
            later(o.breakMs ?? 10_000, () => send({ type: 'set_state', state: 'available' }));
          }
        });
        break;
      }
      case 'state':
        // Moved to break by the server (a missed offer): come back after a moment.
        if (m.state === 'break' && m.reason === 'missed_offer') later(2000, () => send({ type: 'set_state', state: 'available' }));
        break;
      case 'error':
        stats.errors++;
        stats.lastError = `${m.code ?? 'error'}: ${m.message ?? ''}`;
        log(`${name}: error ${stats.lastError}`);
        break;
      case 'reconnect':
        ws?.close();
        break;
      default:
        break;
    }
  };

  connect();
  return {
    stats,
    stop: async () => {
      stopped = true;
      for (const cancel of timers) cancel();
      timers.clear();
      pendingAccepts.clear();
      settleOwed();
      const sock = ws;
      ws = undefined;
      if (!sock || sock.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          sock.terminate();
          resolve();
        }, 2000);
        sock.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        sock.close(1000, 'stopped');
      });
    },
  };
}
