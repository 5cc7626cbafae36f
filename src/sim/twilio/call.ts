/**
 * One call leg: its lifecycle (ring, answer, run documents, hang up, final status callback) and the
 * parameters of every request it makes. What the call runs is in verb modules that take the call:
 * documents.ts (fetch, fallback, the verb loop), media.ts (Say, Play, Pause), gather.ts, record.ts,
 * enqueue.ts, dial.ts and dial-conference.ts.
 *
 * Rules: every voice request carries AccountSid, ApiVersion, CallSid, CallStatus, Direction, From, To, Caller,
 * Called, the geographic From/To fields, ParentCallSid on a child leg, CallerName and ForwardedFrom when known
 * (https://www.twilio.com/docs/voice/twiml, request parameters); call status callbacks are sent for the
 * requested StatusCallbackEvent values (initiated, ringing, answered, completed; default completed), carry
 * CallbackSource=call-progress-events, SequenceNumber, Timestamp, and on completed CallDuration and Duration
 * (https://www.twilio.com/docs/voice/api/call-resource, StatusCallbackEvent); an unanswered outbound call ends
 * busy, no-answer (after `Timeout`) or failed, one canceled before answer ends canceled (the same page,
 * call status values).
 *
 * Decided here (tested in test/sim):
 * - Requests whose answer Twilio ignores (Enqueue action with hangup/redirected, a Dial action after the
 *   caller hung up, recording status callbacks) are "notifications": failures are recorded as warnings.
 *  * - A REST redirect before an outbound call is answered replaces the document it will run once answered.
 */
import type { Bridge } from './bridge.js';
import type { Conference, JoinOptions, LeaveReason } from './conference.js';
import { rfc2822, sample, type Core, type ErrorInput } from './core.js';
import { joinConference } from './dial-conference.js';
import { load, playSideDoc, runDocuments, runVerbs } from './documents.js';
import type { EmuQueue } from './queue.js';
import { Aborted, deferred, Scope, sleep } from './scope.js';
import type { DocTarget, ExecCtx, FetchTarget, Flow, LoadedDoc, SideDocOptions } from './target.js';
import type { Verb } from './twiml.js';
import type {
  CallerBehaviour,
  CallStatus,
  CallSummary,
  DialResultRecord,
  Direction,
  DocContext,
  EmulatorError,
  EndedBy,
  EndpointConfig,
  HttpMethod,
  QueueResultRecord,
  RecordingRecord,
  StatusEvent,
  TerminalStatus,
  WebhookKind,
} from './types.js';

export { APP_ERROR_TEXT } from './documents.js';
export type { SideDocOptions } from './target.js';

export type RingOutcome = 'answered' | 'busy' | 'no-answer' | 'failed' | 'canceled';
export type CallActivity = 'ringing' | 'twiml' | 'queue' | 'dialing' | 'bridge' | 'conference' | 'ended';

export interface CallInit {
  direction: Direction;
  from: string;
  to: string;
  behaviour: CallerBehaviour;
  /** For outbound legs: how the called party answers. */
  endpoint?: EndpointConfig;
  parentCallSid?: string;
  callerName?: string;
  forwardedFrom?: string;
  statusCallback?: { url: string; method: HttpMethod; events: StatusEvent[] };
  fallback?: { url: string; method: HttpMethod };
}

const COUNTRY_PREFIXES: Array<[string, string]> = [
  ['+1', 'US'],
  ['+44', 'GB'],
  ['+33', 'FR'],
  ['+49', 'DE'],
  ['+34', 'ES'],
  ['+39', 'IT'],
  ['+61', 'AU'],
];

function geo(prefix: string, address: string): Record<string, string> {
  if (!address.startsWith('+')) return {};
  const country = COUNTRY_PREFIXES.find(([p]) => address.startsWith(p))?.[1] ?? '';
  return { [`${prefix}City`]: '', [`${prefix}State`]: '', [`${prefix}Zip`]: '', [`${prefix}Country`]: country };
}

export class Call {
  readonly sid: string;
  readonly from: string;
  readonly to: string;
  readonly direction: Direction;
  readonly parentCallSid?: string;
  readonly callerName?: string;
  readonly forwardedFrom?: string;
  readonly behaviour: CallerBehaviour;
  status: CallStatus = 'queued';
  activity: CallActivity = 'ringing';
  readonly startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  endedBy?: EndedBy;
  readonly heard: string[] = [];
  readonly played: string[] = [];
  readonly digitsSent: string[] = [];
  readonly speechSent: string[] = [];
  readonly queueResults: string[] = [];
  readonly queueWaits: QueueResultRecord[] = [];
  readonly dialResults: DialResultRecord[] = [];
  readonly recordings: RecordingRecord[] = [];
  readonly documents: string[] = [];
  readonly errors: EmulatorError[] = [];
  queue?: EmuQueue;
  conference?: Conference;
  bridge?: Bridge;
  /** Resolves when the call has ended and its last webhooks (status callbacks, notifications) are done. */
  readonly ended: Promise<CallSummary>;
  /** How ringing ended (inbound calls: 'answered' once answered). */
  readonly ringOutcome = deferred<RingOutcome>();
  readonly root = new Scope();
  readonly statusCallback?: { url: string; method: HttpMethod; events: StatusEvent[] };
  readonly fallback?: { url: string; method: HttpMethod };
  private readonly endpoint?: EndpointConfig;
  private redirectTo?: DocTarget;
  /** The scope of the document running now; a REST redirect aborts it (set by documents.ts). */
  docScope?: Scope;
  private pendingTarget?: DocTarget;
  private readonly endedD = deferred<CallSummary>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly cancels: Array<() => void> = [];
  private statusSeq = 0;
  private staticParams?: Record<string, string>;
  /** Gathers answered so far per document URL (gather.ts: the caller's `attempt`). */
  readonly gatherAttempts = new Map<string, number>();
  /** The bridge a dialed leg joins once its dialer has picked it (dial.ts). */
  readonly bridgeAssigned = deferred<Bridge>();
  /** A zero-time waitUrl document has been warned about (enqueue.ts). */
  zeroWarned = false;

  constructor(
    readonly core: Core,
    init: CallInit,
  ) {
    this.sid = core.sids.sid('CA');
    this.from = init.from;
    this.to = init.to;
    this.direction = init.direction;
    this.parentCallSid = init.parentCallSid;
    this.callerName = init.callerName;
    this.forwardedFrom = init.forwardedFrom;
    this.behaviour = init.behaviour;
    this.endpoint = init.endpoint;
    this.statusCallback = init.statusCallback;
    this.fallback = init.fallback;
    this.startedAt = core.clock.now();
    this.ended = this.endedD.promise;
  }

  get live(): boolean {
    return this.endedAt === undefined;
  }

  get clock() {
    return this.core.clock;
  }

  // ---------------------------------------------------------------- lifecycle

  /** An inbound call to one of our numbers: ringing, then the voice URL. */
  startInbound(voice: DocTarget): void {
    this.status = 'ringing';
    this.core.registerCall(this);
    this.armHangupAfter();
    this.emitStatus('ringing');
    void this.lifecycle(() => runDocuments(this, voice));
  }

  /** An outbound leg (calls.create, a `<Dial>` leg, a REST conference participant): ring, then run `target`. */
  startOutbound(target: DocTarget, ringTimeoutMs: number): void {
    this.pendingTarget = target;
    this.core.registerCall(this);
    void this.lifecycle(async () => {
      await Promise.resolve();
      if (!this.live) return;
      this.status = 'initiated';
      this.emitStatus('initiated');
      this.status = 'ringing';
      this.emitStatus('ringing');
      const outcome = await this.ring(ringTimeoutMs);
      this.ringOutcome.resolve(outcome);
      if (outcome !== 'answered') {
        if (this.live) this.hangup(outcome === 'failed' ? 'twilio' : 'caller', outcome);
        return;
      }
      this.answer();
      this.armHangupAfter();
      await runDocuments(this, this.pendingTarget ?? target);
    });
  }

  private async ring(timeoutMs: number): Promise<RingOutcome> {
    const ep = this.endpoint ?? this.core.resolveEndpoint(this.to);
    const mode =
      typeof ep.answer === 'function'
        ? ep.answer({ callSid: this.sid, from: this.from, to: this.to, parentCallSid: this.parentCallSid })
        : ep.answer;
    try {
      if (mode === 'failed') return 'failed';
      if (mode === 'busy') {
        await sleep(this.clock, Math.min(1000, timeoutMs), this.root);
        return 'busy';
      }
      const delay = sample(ep.answerDelayMs, 2000);
      if (mode === true && delay < timeoutMs) {
        await sleep(this.clock, delay, this.root);
        return 'answered';
      }
      await sleep(this.clock, timeoutMs, this.root);
      return 'no-answer';
    } catch (e) {
      if (e instanceof Aborted) return 'canceled';
      throw e;
    }
  }

  /** Answer the call (idempotent): in-progress, answered status callback. */
  answer(): void {
    if (this.answeredAt !== undefined) return;
    this.answeredAt = this.clock.now();
    this.status = 'in-progress';
    this.activity = 'twiml';
    this.emitStatus('answered');
    this.ringOutcome.resolve('answered');
  }

  private armHangupAfter(): void {
    const ms = this.behaviour.hangupAfterMs;
    if (ms !== undefined) this.cancels.push(this.clock.setTimer(ms, () => this.hangup('caller')));
  }

  /** Start this person's talk timer (bridge or conference); returns its cancel function. */
  startTalkTimer(): () => void {
    if (this.behaviour.talkMs === undefined || !this.live) return () => {};
    const ms = sample(this.behaviour.talkMs, 0);
    return this.clock.setTimer(ms, () => this.hangup('caller'));
  }

  /** End the call. Default: the simulated person hangs up. */
  hangup(by: EndedBy = 'caller', status?: TerminalStatus): void {
    if (!this.live) return;
    const st: TerminalStatus = status ?? (this.answeredAt !== undefined ? 'completed' : 'canceled');
    this.endedAt = this.clock.now();
    this.endedBy = by;
    this.status = st;
    this.activity = 'ended';
    for (const c of this.cancels) c();
    this.cancels.length = 0;
    this.root.abort({ type: 'hangup', by, status: st });
  }

  /**
   * Move the call to new TwiML (REST calls update, queue member dequeue). Before an outbound call is
   * answered this replaces the document it will fetch. Returns false when the call has ended.
   */
  redirect(target: DocTarget): boolean {
    if (!this.live) return false;
    if (this.answeredAt === undefined && this.direction !== 'inbound') {
      this.pendingTarget = target;
      return true;
    }
    this.redirectTo = target;
    this.docScope?.abort({ type: 'redirect', target });
    return true;
  }

  /** Join a `<Dial>`'s bridge (for a leg created by a dialer). */
  assignBridge(b: Bridge): void {
    this.bridgeAssigned.resolve(b);
  }

  /** Keep `p` in the set of work `ended` waits for. */
  track(p: Promise<unknown>): void {
    const q = p.then(
      () => undefined,
      () => undefined,
    );
    this.tasks.add(q);
    void q.then(() => this.tasks.delete(q));
  }

  private async lifecycle(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof Aborted)) {
        this.recordError({
          code: 90000,
          level: 'error',
          kind: 'emulator',
          message: `internal emulator error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        });
      }
    } finally {
      if (this.live) this.hangup('twilio');
      await this.finalize();
    }
  }

  private async finalize(): Promise<void> {
    this.ringOutcome.resolve(
      this.answeredAt !== undefined
        ? 'answered'
        : this.status === 'busy' || this.status === 'no-answer' || this.status === 'failed'
          ? this.status
          : 'canceled',
    );
    this.emitStatus('completed');
    this.core.callEnded(this);
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
    this.endedD.resolve(this.summary());
  }

  summary(): CallSummary {
    const end = this.endedAt ?? this.clock.now();
    const st = this.status;
    return {
      callSid: this.sid,
      from: this.from,
      to: this.to,
      direction: this.direction,
      status: st === 'completed' || st === 'busy' || st === 'failed' || st === 'no-answer' || st === 'canceled' ? st : 'completed',
      startedAt: this.startedAt,
      answeredAt: this.answeredAt,
      endedAt: end,
      durationMs: this.answeredAt !== undefined ? end - this.answeredAt : 0,
      totalMs: end - this.startedAt,
      endedBy: this.endedBy ?? 'twilio',
      heard: [...this.heard],
      played: [...this.played],
      digitsSent: [...this.digitsSent],
      speechSent: [...this.speechSent],
      queueResults: [...this.queueResults],
      queueWaits: [...this.queueWaits],
      dialResults: [...this.dialResults],
      recordings: [...this.recordings],
      documents: [...this.documents],
      errors: [...this.errors],
    };
  }

  // ---------------------------------------------------------------- parameters, callbacks, errors

  /** The standard parameters of every voice request (see the header). */
  baseParams(): Record<string, string> {
    if (!this.staticParams) {
      const p: Record<string, string> = {
        AccountSid: this.core.accountSid,
        ApiVersion: '2010-04-01',
        CallSid: this.sid,
        Direction: this.direction,
        From: this.from,
        To: this.to,
        Caller: this.from,
        Called: this.to,
        ...geo('From', this.from),
        ...geo('Caller', this.from),
        ...geo('To', this.to),
        ...geo('Called', this.to),
      };
      if (this.parentCallSid) p.ParentCallSid = this.parentCallSid;
      if (this.callerName) p.CallerName = this.callerName;
      if (this.forwardedFrom) p.ForwardedFrom = this.forwardedFrom;
      this.staticParams = p;
    }
    return { ...this.staticParams, CallStatus: this.status };
  }

  private emitStatus(ev: StatusEvent): void {
    const cb = this.statusCallback;
    if (!cb || !cb.events.includes(ev)) return;
    const params: Record<string, string> = {
      ...this.baseParams(),
      CallStatus: ev === 'answered' ? 'in-progress' : ev === 'completed' ? this.status : ev,
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(this.statusSeq++),
      Timestamp: rfc2822(this.clock.now()),
    };
    if (ev === 'completed') {
      const ms = this.answeredAt !== undefined ? (this.endedAt ?? this.clock.now()) - this.answeredAt : 0;
      params.CallDuration = String(Math.round(ms / 1000));
      params.Duration = String(Math.ceil(ms / 60_000));
    }
    this.core.sendStatusCallback({ kind: 'status', url: cb.url, method: cb.method, params, callSid: this.sid }, (p) => this.track(p));
  }

  recordError(e: Omit<ErrorInput, 'callSid'>): void {
    this.core.recordError({ ...e, callSid: this.sid }, this);
  }

  /** A request whose answer Twilio ignores. Failures become warnings. */
  notify(kind: WebhookKind, url: string, method: HttpMethod, params: Record<string, string>, raw = false): void {
    const p = this.core.hooks
      .send({ kind, url, method, params: raw ? params : { ...this.baseParams(), ...params }, callSid: this.sid })
      .then((res) => {
        if (!res.ok || res.status < 200 || res.status > 299) {
          this.recordError({
            code: 11200,
            level: 'warning',
            kind: 'notification',
            url,
            message: `${kind} request failed: ${res.ok ? `HTTP ${res.status}` : res.message}`,
          });
        }
      });
    this.track(p);
  }

  /** A URL of a verb, resolved against the document it is in (REST TwiML: absolute already). */
  resolveUrl(u: string, ctx: ExecCtx): string {
    return ctx.docUrl ? this.core.hooks.resolve(u, ctx.docUrl) : u;
  }

  // ---------------------------------------------------------------- running documents (documents.ts)

  /** Whether a REST redirect is waiting to replace the running document. */
  get redirectPending(): boolean {
    return this.redirectTo !== undefined;
  }

  /** The pending REST redirect's target, once. */
  takeRedirect(): DocTarget | undefined {
    const t = this.redirectTo;
    this.redirectTo = undefined;
    return t;
  }

  /** Fetch + validate a document, with the fallback when `useFallback`. null = nothing runnable. */
  load(target: FetchTarget, context: DocContext, scope: Scope, useFallback: boolean): Promise<LoadedDoc | null> {
    return load(this, target, context, scope, useFallback);
  }

  runVerbs(verbs: Verb[], ctx: ExecCtx, scope: Scope): Promise<Flow> {
    return runVerbs(this, verbs, ctx, scope);
  }

  /**
   * Run a secondary document on this call (conference wait / hold music, `<Queue url>`, a whisper) until it
   * runs out or the scope is aborted. No fallback. Returns 'hangup' if the document said `<Hangup>`.
   */
  playSideDoc(url: string | undefined, method: HttpMethod, extra: Record<string, string>, o: SideDocOptions): Promise<'done' | 'hangup'> {
    return playSideDoc(this, url, method, extra, o);
  }

  /** Be a participant of `conf` until the conference lets go (ended, kicked) or this call is interrupted. */
  inConference(conf: Conference, opts: JoinOptions, scope: Scope): Promise<LeaveReason> {
    return joinConference(this, conf, opts, scope);
  }

  /** A new leg dialed from this call (`<Dial>` to an endpoint). */
  newLeg(init: CallInit): Call {
    return new Call(this.core, init);
  }
}
