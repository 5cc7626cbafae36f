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
  const agent = new Desk(o);
  agent.connect();
  return agent;
}

/** One simulated agent: its socket (reconnecting, round robin over its URLs) and what it does with each frame. */
class Desk implements SimulatedAgent {
  readonly stats: SimulatedAgentStats = {
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
  private readonly rng: () => number;
  private readonly log: (line: string) => void;
  private readonly timers = new Set<() => void>();
  private stopped = false;
  private ws: WebSocket | undefined;
  private name = '?';
  private readonly urls: string[];
  private urlAt = 0;
  private welcomed = 0;
  private readonly pendingAccepts = new Map<string, () => void>();
  // A desk that reconnects is told its current offer, call and wrap-up again: each is acted on once.
  private readonly accepted = new Set<string>();
  private readonly talking = new Set<string>();
  private readonly wrapping = new Set<string>();
  // Replies the server owes us on the open socket, oldest first (it answers one socket's commands in order).
  private readonly owed: (() => void)[] = [];

  constructor(private readonly o: SimulatedAgentOptions) {
    this.rng = o.rng ?? Math.random;
    this.log = o.log ?? (() => {});
    this.urls = [o.wsUrl, ...(o.otherWsUrls ?? [])];
  }

  private later(ms: number, fn: () => void): () => void {
    const cancel = this.o.clock.setTimer(Math.max(0, ms), () => {
      this.timers.delete(cancel);
      if (!this.stopped) fn();
    });
    this.timers.add(cancel);
    return () => {
      this.timers.delete(cancel);
      cancel();
    };
  }

  private settleOwed(): void {
    for (const done of this.owed.splice(0)) done();
  }

  /** Send on the socket open now (commands are about the agent, not about the socket they were decided on). */
  private send(msg: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      if (this.o.track) this.owed.push(this.o.track());
      this.ws.send(JSON.stringify(msg));
    }
  }

  connect(): void {
    if (this.stopped) return;
    const sock = new WebSocket(this.urls[this.urlAt % this.urls.length]!);
    this.ws = sock;
    sock.on('open', () => {
      this.stats.connects++;
      this.send({ type: 'hello', token: this.o.token });
    });
    sock.on('message', (data: WebSocket.RawData) => {
      let m: ServerFrame;
      try {
        m = JSON.parse(data.toString()) as ServerFrame;
      } catch {
        return;
      }
      if (sock !== this.ws) return;
      this.handle(m);
      if (REPLIES.has(m.type)) this.owed.shift()?.();
      this.o.onFrame?.(m);
    });
    sock.on('error', (e: Error) => {
      this.stats.errors++;
      this.stats.lastError = e.message;
    });
    sock.on('close', () => {
      if (this.ws !== sock) return;
      this.ws = undefined;
      this.settleOwed();
      // Offers shown on this socket are gone with it; the server's offer deadline takes care of them.
      for (const cancel of this.pendingAccepts.values()) cancel();
      this.pendingAccepts.clear();
      if (this.urls.length > 1) this.urlAt++;
      if (!this.stopped) this.later(this.o.reconnectDelayMs ?? 1000, () => this.connect());
    });
  }

  private handle(m: ServerFrame): void {
    switch (m.type) {
      case 'welcome':
        return this.welcome(m);
      case 'offer':
        return this.offer(m);
      case 'offer_cancelled': {
        // The caller hung up or the offer timed out: do not accept it any more.
        const cancel = m.offerId ? this.pendingAccepts.get(m.offerId) : undefined;
        if (cancel && m.offerId) {
          cancel();
          this.pendingAccepts.delete(m.offerId);
        }
        return;
      }
      case 'call':
        return this.call(m);
      case 'wrap_up':
        return this.wrapUp(m);
      case 'state':
        // Moved to break by the server (a missed offer): come back after a moment.
        if (m.state === 'break' && m.reason === 'missed_offer')
          this.later(2000, () => this.send({ type: 'set_state', state: 'available' }));
        return;
      case 'error':
        this.stats.errors++;
        this.stats.lastError = `${m.code ?? 'error'}: ${m.message ?? ''}`;
        this.log(`${this.name}: error ${this.stats.lastError}`);
        return;
      case 'reconnect':
        this.ws?.close();
        return;
      default:
        return;
    }
  }

  private welcome(m: ServerFrame): void {
    this.name = m.agentId ?? this.name;
    if (this.welcomed++ > 0) this.stats.reconnects++;
    this.stats.instances.push(m.instance ?? '?');
    this.log(`${this.name}: signed in${m.instance ? ` on ${m.instance}` : ''}`);
    // Back after a lost connection while holding an offer, on a call or in wrap-up: carry on (the
    // timers for the call keep running); otherwise go available.
    if (m.state !== 'reserved' && m.state !== 'on_call' && m.state !== 'wrap_up') this.send({ type: 'set_state', state: 'available' });
  }

  private offer(m: ServerFrame): void {
    const offerId = m.offerId;
    if (!offerId || this.accepted.has(offerId) || this.pendingAccepts.has(offerId)) return;
    this.stats.offers++;
    this.pendingAccepts.set(
      offerId,
      this.later(this.o.acceptDelayMs, () => {
        this.pendingAccepts.delete(offerId);
        this.accepted.add(offerId);
        this.stats.accepted++;
        this.send({ type: 'accept', offerId });
      }),
    );
  }

  private call(m: ServerFrame): void {
    const callSid = m.callSid;
    if (m.status === 'connected' && callSid) {
      if (this.talking.has(callSid)) return;
      this.talking.add(callSid);
      this.stats.connected++;
      this.log(`${this.name}: talking on ${callSid.slice(0, 10)}…`);
      this.later(this.o.handleTimeMs(), () => {
        this.stats.hungUp++;
        this.send({ type: 'hangup', callSid });
      });
    } else if (m.status === 'failed') this.log(`${this.name}: phone did not connect on ${callSid ?? '?'}`);
  }

  private wrapUp(m: ServerFrame): void {
    const callSid = m.callSid;
    if (!callSid || this.wrapping.has(callSid)) return;
    this.talking.delete(callSid);
    this.wrapping.add(callSid);
    this.later(this.o.wrapUpMs(), () => {
      this.wrapping.delete(callSid);
      this.stats.wrapUps++;
      this.send({ type: 'wrap_up', callSid, disposition: this.o.disposition() });
      if (this.o.breakEvery && this.rng() < 1 / this.o.breakEvery) {
        this.stats.breaks++;
        this.send({ type: 'set_state', state: 'break', reason: 'coffee' });
        this.later(this.o.breakMs ?? 10_000, () => this.send({ type: 'set_state', state: 'available' }));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.pendingAccepts.clear();
    this.settleOwed();
    const sock = this.ws;
    this.ws = undefined;
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
  }
}
