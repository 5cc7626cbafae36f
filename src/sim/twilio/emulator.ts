/**
 * The Twilio emulator: a stand-in for Twilio Programmable Voice that drives our server exactly like Twilio
 * would — signed webhooks, TwiML execution with time on an injected clock, queues, dials, conferences,
 * status callbacks — and answers the REST calls the server makes. README.md lists the decisions taken where
 * Twilio documents nothing; each is also written next to its code.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock.js';
import { Call } from './call.js';
import { ConferenceRegistry, type Conference } from './conference.js';
import type { Core, ErrorInput, Settings } from './core.js';
import { runUntil, type RunOptions } from './drive.js';
import { Faults } from './faults.js';
import { QueueRegistry, type EmuQueue } from './queue.js';
import { Random } from './random.js';
import { RecordingRegistry } from './recordings.js';
import { RestServer } from './rest.js';
import type { DocTarget } from './target.js';
import type {
  CallerBehaviour,
  EmulatorError,
  EmulatorOptions,
  EndpointConfig,
  HttpMethod,
  NumberConfig,
  PlaceCallOptions,
  RestLogEntry,
  StatusCallbackFaults,
  StatusEvent,
  WebhookLogEntry,
} from './types.js';
import { Inflight, WebhookClient, type SendRequest } from './webhooks.js';

export interface OutboundCallOptions {
  to: string;
  from: string;
  target: DocTarget;
  timeoutS: number;
  statusCallback?: { url: string; method: HttpMethod; events: StatusEvent[] };
  fallback?: { url: string; method: HttpMethod };
}

export interface EmulatorLog {
  webhooks: WebhookLogEntry[];
  rest: RestLogEntry[];
}

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

export class TwilioEmulator implements Core {
  readonly clock: Clock;
  readonly accountSid: string;
  readonly authToken: string;
  readonly settings: Settings;
  readonly sids: Random;
  readonly random: Random;
  readonly hooks: WebhookClient;
  readonly inflight: Inflight;
  /** @internal Registries used by the REST layer; assertions should use `queues` / `conferences`. */
  readonly queueRegistry: QueueRegistry;
  readonly conferenceRegistry: ConferenceRegistry;
  readonly recordingRegistry: RecordingRegistry;
  readonly faults = new Faults();
  /** Every webhook sent and every REST request received. */
  readonly log: EmulatorLog = { webhooks: [], rest: [] };
  /** Protocol errors and warnings Twilio would raise (its debugger), plus emulator errors (9xxxx). */
  readonly errors: EmulatorError[] = [];
  /** 'call-start' (Call), 'call-end' (Call), 'webhook' (entry, at send), 'webhook-done', 'rest', 'twilio-error'. */
  readonly events = new EventEmitter();
  restBaseUrl = '';
  private readonly callMap = new Map<string, Call>();
  private readonly endpoints = new Map<string, EndpointConfig>();
  private readonly callers = new Map<string, CallerBehaviour>();
  private readonly numbers: Map<string, NumberConfig>;
  private readonly unknownEndpoint: EndpointConfig;
  private readonly maxLog: number;
  private rest?: RestServer;
  private closed = false;

  constructor(private readonly opts: EmulatorOptions) {
    if (!ACCOUNT_SID.test(opts.accountSid)) throw new Error(`accountSid must be AC + 32 hex digits: ${opts.accountSid}`);
    this.clock = opts.clock;
    this.accountSid = opts.accountSid;
    this.authToken = opts.authToken;
    const root = new Random(opts.seed ?? 1);
    this.sids = root.fork(1);
    this.random = root.fork(2);
    const tokens = root.fork(3);
    this.settings = {
      wordsPerMinute: opts.wordsPerMinute ?? 150,
      minSayMs: opts.minSayMs ?? 1000,
      playDurationMs: opts.playDurationMs ?? (() => 8000),
      statusShuffleMaxMs: opts.statusShuffleMaxMs ?? 2000,
    };
    this.maxLog = opts.maxLogEntries ?? 200_000;
    this.inflight = new Inflight(opts.settleTurns ?? 10);
    this.hooks = new WebhookClient({
      clock: opts.clock,
      authToken: opts.authToken,
      webhookBase: opts.webhookBase,
      publicBaseUrl: opts.publicBaseUrl,
      timeoutMs: opts.webhookTimeoutMs ?? 15_000,
      realTimeoutMs: opts.webhookRealTimeoutMs ?? 15_000,
      random: tokens,
      inflight: this.inflight,
      maxSockets: opts.maxSockets ?? 64,
      onSend: (e) => {
        this.push(this.log.webhooks, e);
        this.events.emit('webhook', e);
      },
      onDone: (e) => this.events.emit('webhook-done', e),
    });
    this.queueRegistry = new QueueRegistry(opts.clock, this.sids);
    this.conferenceRegistry = new ConferenceRegistry(this);
    this.recordingRegistry = new RecordingRegistry(this);
    this.numbers = new Map(Object.entries(opts.numbers));
    this.unknownEndpoint = opts.unknownEndpoint ?? { answer: false };
  }

  /** @internal */
  async start(): Promise<void> {
    this.rest = new RestServer(this);
    this.restBaseUrl = await this.rest.listen(this.opts.restPort ?? 0);
  }

  // ------------------------------------------------------------------ public API

  /** Every call the emulator has seen (ended ones included), by CallSid. */
  get calls(): ReadonlyMap<string, Call> {
    return this.callMap;
  }

  /** Queues by friendly name. */
  get queues(): ReadonlyMap<string, EmuQueue> {
    return this.queueRegistry.map;
  }

  /** Conferences by ConferenceSid (completed ones included). */
  get conferences(): ReadonlyMap<string, Conference> {
    return this.conferenceRegistry.map;
  }

  /** The live conference with this friendly name, or else the latest one. */
  conference(friendlyName: string): Conference | undefined {
    return this.conferenceRegistry.liveByName(friendlyName) ?? this.conferenceRegistry.latestByName(friendlyName);
  }

  get statusFaults(): StatusCallbackFaults {
    return this.faults.statusCallbacks;
  }

  /** A simulated caller dials one of our numbers. */
  placeCall(o: PlaceCallOptions): Call {
    if (this.closed) throw new Error('emulator is closed');
    const num = this.numbers.get(o.to);
    if (!num) throw new Error(`${o.to} is not one of the emulator's numbers (${[...this.numbers.keys()].join(', ')})`);
    const behaviour = o.behaviour ?? {};
    this.callers.set(o.from, behaviour);
    const call = new Call(this, {
      direction: 'inbound',
      from: o.from,
      to: o.to,
      behaviour,
      callerName: o.callerName,
      forwardedFrom: o.forwardedFrom,
      statusCallback: num.statusCallback
        ? {
            url: this.hooks.configUrl(num.statusCallback),
            method: num.statusCallbackMethod ?? 'POST',
            events: num.statusCallbackEvents ?? ['ringing', 'answered', 'completed'],
          }
        : undefined,
      fallback: num.fallbackUrl ? { url: this.hooks.configUrl(num.fallbackUrl), method: num.fallbackMethod ?? 'POST' } : undefined,
    });
    call.startInbound({ kind: 'fetch', url: this.hooks.configUrl(num.voiceUrl), method: num.voiceMethod ?? 'POST', webhookKind: 'voice' });
    return call;
  }

  /** An agent phone / SIP endpoint / outside number the server may dial ('client:alice', 'sip:…', '+1…'). */
  registerEndpoint(address: string, cfg: EndpointConfig): void {
    this.endpoints.set(address, cfg);
  }

  unregisterEndpoint(address: string): void {
    this.endpoints.delete(address);
  }

  /** Add or change one of our numbers. */
  setNumber(number: string, cfg: NumberConfig): void {
    this.numbers.set(number, cfg);
  }

  /** Resolves when no HTTP request is in flight either way (webhooks out, REST in). */
  settle(): Promise<void> {
    return this.inflight.settle();
  }

  /**
   * Wait for `p`. On a VirtualClock this advances time (settling HTTP after every timer) until `p` settles;
   * on a real clock it just waits.
   */
  run<T>(p: Promise<T>, o: Omit<RunOptions, 'settle'> = {}): Promise<T> {
    return runUntil(this.clock, p, { ...o, settle: () => this.settle() });
  }

  /** Live calls (not ended). */
  liveCalls(): Call[] {
    return [...this.callMap.values()].filter((c) => c.live);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.liveCalls()) c.hangup('twilio');
    await Promise.race([this.settle(), new Promise((r) => setTimeout(r, 3000).unref())]);
    await this.rest?.close();
    this.hooks.close();
  }

  // ------------------------------------------------------------------ Core

  recordError(e: ErrorInput, call?: Call): EmulatorError {
    const err: EmulatorError = { ...e, at: this.clock.now() };
    this.push(this.errors, err);
    call?.errors.push(err);
    this.events.emit('twilio-error', err);
    return err;
  }

  registerCall(call: Call): void {
    this.callMap.set(call.sid, call);
    this.events.emit('call-start', call);
  }

  callEnded(call: Call): void {
    this.events.emit('call-end', call);
  }

  resolveEndpoint(address: string): EndpointConfig {
    const ep = this.endpoints.get(address) ?? this.endpoints.get(address.split(';')[0] ?? address);
    if (ep) return ep;
    const caller = this.callers.get(address);
    if (caller) return { ...caller, answer: caller.answerCallback === true, answerDelayMs: caller.answerDelayMs ?? 3000 };
    return this.unknownEndpoint;
  }

  sendStatusCallback(req: SendRequest, track: (p: Promise<unknown>) => void): void {
    const f = this.faults.statusCallbacks;
    if (f.dropConference && req.kind === 'conference-status') return;
    const max = this.settings.statusShuffleMaxMs;
    const deliver = (): Promise<void> =>
      this.hooks.send(req).then((res) => {
        if (!res.ok || res.status < 200 || res.status > 299) {
          this.recordError(
            {
              code: 11200,
              level: 'warning',
              kind: 'status-callback',
              url: req.url,
              callSid: req.callSid,
              message: `${req.kind} callback failed: ${res.ok ? `HTTP ${res.status}` : res.message}`,
            },
            req.callSid ? this.callMap.get(req.callSid) : undefined,
          );
        }
      });
    const schedule = (delay: number): void => {
      if (delay <= 0) {
        track(deliver());
        return;
      }
      track(
        new Promise<void>((resolve) => {
          this.clock.setTimer(delay, () => {
            deliver().then(resolve, resolve);
          });
        }),
      );
    };
    schedule(f.shuffle ? this.random.int(max + 1) : 0);
    if (f.duplicate > 0 && this.random.next() < f.duplicate) schedule(f.shuffle ? this.random.int(max + 1) : 0);
  }

  // ------------------------------------------------------------------ used by the REST layer

  /** @internal A call placed by the REST API (calls.create, conference participants). */
  createOutboundCall(o: OutboundCallOptions): Call {
    const ep = this.resolveEndpoint(o.to);
    const call = new Call(this, {
      direction: 'outbound-api',
      from: o.from,
      to: o.to,
      behaviour: ep,
      endpoint: ep,
      statusCallback: o.statusCallback,
      fallback: o.fallback,
    });
    call.startOutbound(o.target, o.timeoutS * 1000);
    return call;
  }

  /** @internal */
  logRest(e: RestLogEntry): void {
    this.push(this.log.rest, e);
    this.events.emit('rest', e);
  }

  private push<T>(arr: T[], e: T): void {
    arr.push(e);
    if (arr.length > this.maxLog) arr.splice(0, Math.ceil(this.maxLog / 10));
  }
}

/** Start an emulator (its REST server listens on 127.0.0.1:restPort, 0 = a free port). */
export async function createTwilioEmulator(opts: EmulatorOptions): Promise<TwilioEmulator> {
  const emu = new TwilioEmulator(opts);
  await emu.start();
  return emu;
}
