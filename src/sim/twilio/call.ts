/**
 * One call leg and its TwiML execution, with Twilio's semantics (twilio.md sections 2-4, 7).
 *
 * A call runs a loop of documents: fetch (or take REST TwiML), validate for the context, run the verbs
 * with their durations on the clock, follow the next URL (Redirect, Gather/Record/Dial/Enqueue actions),
 * and hang up when a document runs out. Everything waits through scopes (scope.ts): the caller hanging up
 * aborts the root scope, a REST redirect aborts the current document's scope.
 *
 * Decisions where Twilio documents nothing (tested in test/sim):
 * - Fetch failures (11200 non-2xx or timeout, 11205 connection failure, 12300 content type, 12100 bad or
 *   forbidden TwiML) on any document of a call request the call's fallback URL (the number's, or calls.create
 *   FallbackUrl) with the original parameters plus ErrorCode and ErrorUrl; the fallback document runs under
 *   the same restrictions as the failed one. If there is no fallback or it fails too: a top-level document
 *   plays "an application error has occurred" and hangs up (endedBy 'twilio'); a waitUrl document takes the
 *   caller out of the queue with QueueResult=error; conference wait / hold / whisper documents are skipped.
 * - Requests whose answer Twilio ignores (Enqueue action with hangup/redirected, a Dial action after the
 *   caller hung up, recording status callbacks) are "notifications": failures are recorded as warnings.
 * - When the caller hangs up during a `<Dial>` with an action, the action is still requested (response
 *   ignored) with DialCallStatus=canceled while ringing, or the final status once bridged.
 * - `<Dial>` to endpoints: DialCallStatus is no-answer when the called party's `url` (whisper) document hangs
 *   up before the bridge; several nouns ring at once and the first to answer wins. `<Dial><Queue>` (7.2):
 *   the action gets DialCallStatus (completed, or failed when the caller vanished before the bridge; no-answer
 *   after `timeout` on an empty queue; failed if the queue does not exist), DialCallSid = the dequeued caller,
 *   DialCallDuration, DialBridged, QueueSid, QueueTime.
 * - Enqueue: a caller hanging up while the `<Queue url>` document plays gets QueueResult=bridging-in-process;
 *   redirected by REST while bridged: redirected-from-bridged; a `<Hangup>` in the waitUrl document: hangup.
 * - A document that takes no clock time and leads to another (Redirect loops) is allowed 50 times in a row,
 *   then the call fails with emulator error 90001; a waitUrl document that takes no time is re-requested
 *   after 1 s (warning 90002), so virtual time always moves.
 */
import { Bridge } from './bridge.js';
import type { Conference, JoinOptions, LeaveReason } from './conference.js';
import { DEFAULT_HOLD_MUSIC, rfc2822, sample, sayDurationMs, type Core, type ErrorInput } from './core.js';
import { interpretGather } from './gather.js';
import type { EmuQueue, MemberOutcome, QueueMember } from './queue.js';
import { Aborted, deferred, forever, race, Scope, sleep } from './scope.js';
import type { DocTarget, Step } from './target.js';
import {
  parseTwiml,
  TwimlError,
  type ConferenceNoun,
  type DialVerb,
  type EndpointNoun,
  type EnqueueVerb,
  type GatherVerb,
  type PlayVerb,
  type QueueNoun,
  type RecordVerb,
  type SayVerb,
  type Verb,
} from './twiml.js';
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

type Flow =
  | { kind: 'end' }
  | { kind: 'goto'; target: DocTarget }
  | { kind: 'hangup' }
  | { kind: 'reject'; reason: 'rejected' | 'busy' }
  | { kind: 'leave' };

interface ExecCtx {
  /** Absolute public URL of the running document ('' for TwiML given over REST). */
  docUrl: string;
  context: DocContext;
}

interface LoadedDoc {
  url: string;
  verbs: Verb[];
}

type FetchTarget = Extract<DocTarget, { kind: 'fetch' } | { kind: 'twiml' }>;

interface DialOutcome {
  params: Record<string, string>;
  record: DialResultRecord;
}

export interface SideDocOptions {
  context: DocContext;
  kind: WebhookKind;
  scope: Scope;
  /** For a URL the emulator does not fetch (not our server): treat it as endless music (true) or one Play. */
  externalForever: boolean;
}

const ACCEPTED_TYPES = new Set(['text/xml', 'application/xml', 'text/html']);
export const APP_ERROR_TEXT = "We're sorry, an application error has occurred. Goodbye.";
const ZERO_TIME_LIMIT = 50;

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
  private docScope?: Scope;
  private redirectTo?: DocTarget;
  private pendingTarget?: DocTarget;
  private readonly endedD = deferred<CallSummary>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly cancels: Array<() => void> = [];
  private statusSeq = 0;
  private readonly gatherAttempts = new Map<string, number>();
  private readonly bridgeAssigned = deferred<Bridge>();
  private zeroWarned = false;
  private staticParams?: Record<string, string>;

  constructor(
    private readonly core: Core,
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

  private get clock() {
    return this.core.clock;
  }

  // ---------------------------------------------------------------- lifecycle

  /** An inbound call to one of our numbers: ringing, then the voice URL. */
  startInbound(voice: DocTarget): void {
    this.status = 'ringing';
    this.core.registerCall(this);
    this.armHangupAfter();
    this.emitStatus('ringing');
    void this.lifecycle(() => this.program(voice));
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
      await this.program(this.pendingTarget ?? target);
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

  private answer(): void {
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

  /** The standard parameters of every voice request (twilio.md section 2). */
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
    this.core.sendStatusCallback({ kind: 'status', url: cb.url, method: cb.method, params, callSid: this.sid }, (p) =>
      this.track(p),
    );
  }

  private recordError(e: Omit<ErrorInput, 'callSid'>): void {
    this.core.recordError({ ...e, callSid: this.sid }, this);
  }

  /** A request whose answer Twilio ignores. Failures become warnings. */
  private notify(kind: WebhookKind, url: string, method: HttpMethod, params: Record<string, string>, raw = false): void {
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

  private resolveUrl(u: string, ctx: ExecCtx): string {
    return ctx.docUrl ? this.core.hooks.resolve(u, ctx.docUrl) : u;
  }

  // ---------------------------------------------------------------- documents

  private async program(first: DocTarget): Promise<void> {
    let target = first;
    let zeroStreak = 0;
    for (;;) {
      if (this.root.aborted) return;
      if (this.redirectTo) {
        target = this.redirectTo;
        this.redirectTo = undefined;
      }
      const scope = this.root.child();
      this.docScope = scope;
      const t0 = this.clock.now();
      let step: Step;
      try {
        step = await this.execTarget(target, scope);
      } catch (e) {
        if (!(e instanceof Aborted)) throw e;
        if (this.root.aborted) return;
        if (this.redirectTo) continue;
        this.hangup('twilio');
        return;
      } finally {
        scope.dispose();
      }
      if (this.root.aborted) return;
      if (this.redirectTo) continue;
      if (step.kind === 'end') {
        this.hangup(step.by, step.status);
        return;
      }
      zeroStreak = this.clock.now() === t0 ? zeroStreak + 1 : 0;
      if (zeroStreak >= ZERO_TIME_LIMIT) {
        this.recordError({
          code: 90001,
          level: 'error',
          kind: 'emulator',
          message: `${ZERO_TIME_LIMIT} documents in a row took no time (a Redirect loop?); hanging up`,
        });
        this.hangup('twilio');
        return;
      }
      target = step.target;
    }
  }

  private async execTarget(target: DocTarget, scope: Scope): Promise<Step> {
    if (target.kind === 'internal') return target.run(scope);
    const doc = await this.load(target, 'top', scope, true);
    if (!doc) return this.applicationError(scope);
    if (this.answeredAt === undefined) {
      const first = doc.verbs[0];
      // <Reject> first: Twilio never answers (twilio docs: busy → busy, rejected → no-answer).
      if (first?.kind === 'Reject')
        return { kind: 'end', by: 'server', status: first.reason === 'busy' ? 'busy' : 'no-answer' };
      this.answer();
    }
    const flow = await this.runVerbs(doc.verbs, { docUrl: doc.url, context: 'top' }, scope);
    if (flow.kind === 'goto') return { kind: 'next', target: flow.target };
    return { kind: 'end', by: 'server' };
  }

  private async applicationError(scope: Scope): Promise<Step> {
    if (this.answeredAt === undefined) this.answer();
    this.heard.push(APP_ERROR_TEXT);
    await sleep(this.clock, sayDurationMs(APP_ERROR_TEXT, this.core.settings.wordsPerMinute, this.core.settings.minSayMs), scope);
    return { kind: 'end', by: 'twilio' };
  }

  /** Fetch + validate a document; on failure try the fallback URL. null = nothing runnable. */
  private async load(target: FetchTarget, context: DocContext, scope: Scope, useFallback: boolean): Promise<LoadedDoc | null> {
    const r = await this.fetchDoc(target, context, scope);
    if (r.ok) return r.doc;
    if (!useFallback || !this.fallback) return null;
    const fb: FetchTarget = {
      kind: 'fetch',
      url: this.fallback.url,
      method: this.fallback.method,
      params: { ...(target.kind === 'fetch' ? target.params : {}), ErrorCode: String(r.code), ErrorUrl: r.url },
      webhookKind: 'fallback',
    };
    const r2 = await this.fetchDoc(fb, context, scope);
    return r2.ok ? r2.doc : null;
  }

  private async fetchDoc(
    target: FetchTarget,
    context: DocContext,
    scope: Scope,
  ): Promise<{ ok: true; doc: LoadedDoc } | { ok: false; code: number; url: string }> {
    if (target.kind === 'twiml') {
      try {
        const parsed = parseTwiml(target.xml, { context, requireAbsoluteUrls: true });
        for (const w of parsed.warnings)
          this.recordError({ code: 12200, level: 'warning', kind: 'twiml', message: w, document: target.xml });
        return { ok: true, doc: { url: '', verbs: parsed.verbs } };
      } catch (e) {
        if (!(e instanceof TwimlError)) throw e;
        this.recordError({ code: 12100, level: 'error', kind: 'twiml', message: `REST Twiml: ${e.message}`, document: target.xml });
        return { ok: false, code: 12100, url: '' };
      }
    }
    const url = target.url;
    this.documents.push(this.core.hooks.pathOf(url));
    const res = await race(
      this.core.hooks.send({
        kind: target.webhookKind,
        url,
        method: target.method,
        params: { ...this.baseParams(), ...(target.params ?? {}) },
        callSid: this.sid,
      }),
      scope,
    );
    const fail = (code: number, kind: ErrorInput['kind'], message: string, document?: string) => {
      this.recordError({ code, level: 'error', kind, url, message, document });
      return { ok: false as const, code, url };
    };
    if (!res.ok) return fail(res.failure === 'timeout' ? 11200 : 11205, 'http', `${target.webhookKind} ${url}: ${res.message}`);
    if (res.status < 200 || res.status > 299)
      return fail(11200, 'http', `HTTP retrieval failure: ${url} answered ${res.status}`, res.body);
    const mime = (res.contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (!ACCEPTED_TYPES.has(mime))
      return fail(12300, 'content-type', `invalid Content-Type "${res.contentType}" from ${url}`, res.body);
    try {
      const parsed = parseTwiml(res.body, { context });
      for (const w of parsed.warnings)
        this.recordError({ code: 12200, level: 'warning', kind: 'twiml', url, message: w, document: res.body });
      return { ok: true, doc: { url, verbs: parsed.verbs } };
    } catch (e) {
      if (!(e instanceof TwimlError)) throw e;
      return fail(12100, 'twiml', `${url}: ${e.message}`, res.body);
    }
  }

  /**
   * Run a secondary document on this call (conference wait / hold music, `<Queue url>`, a whisper) until it
   * runs out or the scope is aborted. No fallback. Returns 'hangup' if the document said `<Hangup>`.
   */
  async playSideDoc(
    url: string | undefined,
    method: HttpMethod,
    extra: Record<string, string>,
    o: SideDocOptions,
  ): Promise<'done' | 'hangup'> {
    if (url === undefined || !this.core.hooks.isRoutable(url)) {
      const media = url ?? DEFAULT_HOLD_MUSIC;
      this.played.push(media);
      if (o.externalForever) await forever(o.scope);
      await sleep(this.clock, this.core.settings.playDurationMs(media), o.scope);
      return 'done';
    }
    let cur = { url, method, params: extra };
    for (let hops = 0; ; hops++) {
      const t0 = this.clock.now();
      const doc = await this.load({ kind: 'fetch', ...cur, webhookKind: o.kind }, o.context, o.scope, false);
      if (!doc) return 'done';
      const flow = await this.runVerbs(doc.verbs, { docUrl: doc.url, context: o.context }, o.scope);
      if (flow.kind === 'hangup') return 'hangup';
      if (flow.kind !== 'goto' || flow.target.kind !== 'fetch') return 'done';
      cur = { url: flow.target.url, method: flow.target.method, params: { ...extra, ...(flow.target.params ?? {}) } };
      if (this.clock.now() === t0 && hops >= ZERO_TIME_LIMIT) {
        this.recordError({ code: 90001, level: 'error', kind: 'emulator', url, message: 'zero-time Redirect loop' });
        return 'done';
      }
    }
  }

  // ---------------------------------------------------------------- verbs

  private async runVerbs(verbs: Verb[], ctx: ExecCtx, scope: Scope): Promise<Flow> {
    for (const v of verbs) {
      switch (v.kind) {
        case 'Say':
          await this.say(v, scope);
          break;
        case 'Play':
          await this.play(v, scope);
          break;
        case 'Pause':
          await sleep(this.clock, v.lengthS * 1000, scope);
          break;
        case 'Gather': {
          const f = await this.gather(v, ctx, scope);
          if (f) return f;
          break;
        }
        case 'Redirect':
          return {
            kind: 'goto',
            target: { kind: 'fetch', url: this.resolveUrl(v.url, ctx), method: v.method, webhookKind: 'redirect' },
          };
        case 'Hangup':
          return { kind: 'hangup' };
        case 'Reject':
          return { kind: 'reject', reason: v.reason };
        case 'Leave':
          // Outside a queue's waitUrl, <Leave> does nothing.
          if (ctx.context === 'waitUrl') return { kind: 'leave' };
          break;
        case 'Record': {
          const f = await this.record(v, ctx, scope);
          if (f) return f;
          break;
        }
        case 'Enqueue': {
          const f = await this.enqueue(v, ctx, scope);
          if (f) return f;
          break;
        }
        case 'Dial': {
          const f = await this.dial(v, ctx, scope);
          if (f) return f;
          break;
        }
      }
    }
    return { kind: 'end' };
  }

  private async say(v: SayVerb, scope: Scope, sink?: string[]): Promise<void> {
    const loops = v.loop === 0 ? 1000 : v.loop;
    const ms = sayDurationMs(v.text, this.core.settings.wordsPerMinute, this.core.settings.minSayMs);
    for (let i = 0; i < loops; i++) {
      if (v.text) {
        this.heard.push(v.text);
        sink?.push(v.text);
      }
      await sleep(this.clock, ms, scope);
    }
  }

  private async play(v: PlayVerb, scope: Scope): Promise<void> {
    if (v.digits) {
      this.played.push(`digits:${v.digits}`);
      let ms = 0;
      for (const ch of v.digits) ms += ch === 'w' || ch === 'W' ? 500 : 100;
      await sleep(this.clock, ms, scope);
    }
    if (!v.url) return;
    this.played.push(v.url);
    if (v.loop === 0) await forever(scope);
    await sleep(this.clock, this.core.settings.playDurationMs(v.url) * v.loop, scope);
  }

  private async gather(v: GatherVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
    const heardHere: string[] = [];
    for (const p of v.prompts) {
      if (p.kind === 'Say') await this.say(p, scope, heardHere);
      else if (p.kind === 'Play') await this.play(p, scope);
      else await sleep(this.clock, p.lengthS * 1000, scope);
    }
    const attemptKey = ctx.docUrl || '(twiml)';
    const attempt = (this.gatherAttempts.get(attemptKey) ?? 0) + 1;
    this.gatherAttempts.set(attemptKey, attempt);
    const ans = this.behaviour.gather?.({
      callSid: this.sid,
      docUrl: ctx.docUrl,
      path: ctx.docUrl ? this.core.hooks.pathOf(ctx.docUrl) : '',
      heard: heardHere,
      allHeard: this.heard,
      attempt,
      input: [...v.input],
      numDigits: v.numDigits,
      finishOnKey: v.finishOnKey,
      timeoutS: v.timeoutS,
      context: ctx.context,
    });
    if (ans === 'hangup') {
      this.hangup('caller');
      scope.throwIfAborted();
      return { kind: 'hangup' };
    }
    const input = interpretGather(v, ans);
    await sleep(this.clock, input.ms, scope);
    if (input.pressed) this.digitsSent.push(input.pressed);
    let params: Record<string, string>;
    if (input.kind === 'digits') params = { Digits: input.digits, FinishedOnKey: input.finishedOnKey };
    else if (input.kind === 'speech') {
      this.speechSent.push(input.text);
      params = { SpeechResult: input.text, Confidence: String(input.confidence) };
    } else {
      if (!v.actionOnEmptyResult) return null;
      params = { Digits: '', FinishedOnKey: '' };
    }
    const url = v.action ? this.resolveUrl(v.action, ctx) : ctx.docUrl;
    if (!url) {
      this.recordError({ code: 12100, level: 'warning', kind: 'twiml', message: '<Gather> without action in REST TwiML: nowhere to post' });
      return null;
    }
    return { kind: 'goto', target: { kind: 'fetch', url, method: v.method, params, webhookKind: 'gather' } };
  }

  private async record(v: RecordVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
    if (v.playBeep) this.played.push('beep');
    const rec = this.behaviour.record;
    if (!rec || rec.durationMs <= 0) {
      // Silence: Twilio makes no recording, skips the action and continues with the next verb.
      await sleep(this.clock, v.timeoutS * 1000, scope);
      return null;
    }
    const ms = Math.min(rec.durationMs, v.maxLengthS * 1000);
    await sleep(this.clock, ms, scope);
    const sid = this.core.sids.sid('RE');
    const recordingUrl = `https://api.twilio.com/2010-04-01/Accounts/${this.core.accountSid}/Recordings/${sid}`;
    const durationS = Math.round(ms / 1000);
    this.recordings.push({ sid, url: recordingUrl, durationS });
    const hitMax = rec.durationMs >= v.maxLengthS * 1000;
    const digits = rec.hangup ? 'hangup' : hitMax ? '' : (v.finishOnKey[0] ?? '');
    if (digits && digits !== 'hangup') this.digitsSent.push(digits);
    const params = { RecordingUrl: recordingUrl, RecordingSid: sid, RecordingDuration: String(durationS), Digits: digits };
    if (v.recordingStatusCallback) {
      this.notify(
        'recording-status',
        this.resolveUrl(v.recordingStatusCallback, ctx),
        v.recordingStatusCallbackMethod,
        {
          AccountSid: this.core.accountSid,
          CallSid: this.sid,
          RecordingSid: sid,
          RecordingUrl: recordingUrl,
          RecordingStatus: 'completed',
          RecordingDuration: String(durationS),
          RecordingChannels: '1',
          RecordingSource: 'RecordVerb',
          RecordingStartTime: rfc2822(this.clock.now() - ms),
        },
        true,
      );
    }
    const url = v.action ? this.resolveUrl(v.action, ctx) : ctx.docUrl;
    if (rec.hangup) {
      // The caller hung up to end the recording: the action is still requested, its answer ignored.
      this.hangup('caller');
      if (url) this.notify('record', url, v.method, params);
      scope.throwIfAborted();
    }
    if (!url) return null;
    return { kind: 'goto', target: { kind: 'fetch', url, method: v.method, params, webhookKind: 'record' } };
  }

  // ---------------------------------------------------------------- queues

  private queueWaitParams(q: EmuQueue, m: QueueMember): Record<string, string> {
    const now = this.clock.now();
    return {
      QueuePosition: String(q.position(m)),
      QueueSid: q.sid,
      QueueTime: String(Math.floor((now - m.enqueuedAt) / 1000)),
      AvgQueueTime: String(q.averageWaitS(now)),
      CurrentQueueSize: String(q.size),
      MaxQueueSize: String(q.maxSize),
    };
  }

  private noteQueue(q: EmuQueue, result: string, m?: QueueMember): void {
    this.queueResults.push(result);
    this.queueWaits.push({ queue: q.friendlyName, result, waitMs: m ? (m.leftAt ?? this.clock.now()) - m.enqueuedAt : 0 });
  }

  private async enqueue(v: EnqueueVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
    const q = this.core.queueRegistry.getOrCreate(v.name, v.maxQueueSize);
    const action = v.action ? this.resolveUrl(v.action, ctx) : undefined;
    const post = (params: Record<string, string>): Flow | null =>
      action ? { kind: 'goto', target: { kind: 'fetch', url: action, method: v.method, params, webhookKind: 'action' } } : null;
    if (q.isFull()) {
      this.noteQueue(q, 'queue-full');
      return post({ QueueResult: 'queue-full' });
    }
    const m = q.add(this, this.clock.now());
    const qp = (): Record<string, string> => ({
      QueueSid: q.sid,
      QueueTime: String(Math.floor(((m.leftAt ?? this.clock.now()) - m.enqueuedAt) / 1000)),
    });
    this.queue = q;
    this.activity = 'queue';
    // Leaving the queue must be synchronous with the hang-up / redirect, so no dequeuer can pick us after it.
    const offAbort = scope.onAbort(() => q.remove(m, this.clock.now()));
    const waitScope = scope.child();
    const patience = this.behaviour.patienceMs;
    const cancelPatience = patience !== undefined ? this.clock.setTimer(patience, () => this.hangup('caller')) : () => {};
    this.waitLoop(v, ctx, q, m, waitScope).then(
      (outcome) => {
        if (m.outcome.settled) return;
        m.outcome.resolve(outcome);
        q.remove(m, this.clock.now());
      },
      () => {},
    );
    let outcome: MemberOutcome;
    try {
      outcome = await race(m.outcome.promise, scope);
    } catch (e) {
      q.remove(m, this.clock.now());
      if (e instanceof Aborted) {
        const result = this.root.aborted ? 'hangup' : 'redirected';
        this.noteQueue(q, result, m);
        if (action) this.notify('action', action, v.method, { QueueResult: result, ...qp() });
      }
      throw e;
    } finally {
      offAbort();
      cancelPatience();
      waitScope.abort({ type: 'stop', why: 'left the queue' });
      this.queue = undefined;
      if (this.live) this.activity = 'twiml';
    }
    switch (outcome.type) {
      case 'leave':
      case 'error':
        this.noteQueue(q, outcome.type, m);
        return post({ QueueResult: outcome.type, ...qp() });
      case 'hangup':
        this.noteQueue(q, 'hangup', m);
        if (action) this.notify('action', action, v.method, { QueueResult: 'hangup', ...qp() });
        return { kind: 'hangup' };
      case 'bridged':
        return this.bridgedFromQueue(outcome, q, m, action, v.method, scope);
    }
  }

  /** The waitUrl loop: request, run (waitUrl restrictions), repeat, while the caller waits. */
  private async waitLoop(v: EnqueueVerb, ctx: ExecCtx, q: EmuQueue, m: QueueMember, scope: Scope): Promise<MemberOutcome> {
    const waitUrl = v.waitUrl ? this.resolveUrl(v.waitUrl, ctx) : undefined;
    if (!waitUrl || !this.core.hooks.isRoutable(waitUrl)) {
      this.played.push(waitUrl ?? DEFAULT_HOLD_MUSIC);
      return forever(scope);
    }
    let cur: { url: string; method: HttpMethod; params: Record<string, string>; kind: WebhookKind } = {
      url: waitUrl,
      method: v.waitUrlMethod,
      params: {},
      kind: 'wait',
    };
    for (;;) {
      const t0 = this.clock.now();
      const doc = await this.load(
        { kind: 'fetch', url: cur.url, method: cur.method, params: { ...cur.params, ...this.queueWaitParams(q, m) }, webhookKind: cur.kind },
        'waitUrl',
        scope,
        true,
      );
      if (!doc) return { type: 'error' };
      const flow = await this.runVerbs(doc.verbs, { docUrl: doc.url, context: 'waitUrl' }, scope);
      if (flow.kind === 'leave') return { type: 'leave' };
      if (flow.kind === 'hangup') return { type: 'hangup' };
      if (flow.kind === 'goto' && flow.target.kind === 'fetch')
        cur = { url: flow.target.url, method: flow.target.method, params: flow.target.params ?? {}, kind: flow.target.webhookKind };
      else cur = { url: waitUrl, method: v.waitUrlMethod, params: {}, kind: 'wait' };
      if (this.clock.now() === t0) {
        if (!this.zeroWarned) {
          this.zeroWarned = true;
          this.recordError({
            code: 90002,
            level: 'warning',
            kind: 'emulator',
            url: waitUrl,
            message: 'waitUrl document took no time; re-requesting after 1 s',
          });
        }
        await sleep(this.clock, 1000, scope);
      }
    }
  }

  private async bridgedFromQueue(
    o: Extract<MemberOutcome, { type: 'bridged' }>,
    q: EmuQueue,
    m: QueueMember,
    action: string | undefined,
    method: HttpMethod,
    scope: Scope,
  ): Promise<Flow | null> {
    const bridge = o.bridge;
    this.bridge = bridge;
    this.activity = 'bridge';
    const qp = (): Record<string, string> => ({
      QueueSid: q.sid,
      QueueTime: String(Math.floor(((m.leftAt ?? this.clock.now()) - m.enqueuedAt) / 1000)),
    });
    const inner = scope.child();
    void bridge.ended.promise.then(() => inner.abort({ type: 'stop', why: 'bridge ended' }));
    let phase: 'connecting' | 'bridged' = 'connecting';
    try {
      if (o.url) {
        await this.playSideDoc(
          o.url,
          o.method,
          { ...qp(), DequeingCallSid: o.dequeuer.sid },
          { context: 'dialQueueUrl', kind: 'dial-queue-url', scope: inner, externalForever: false },
        );
      }
      bridge.connect();
      phase = 'bridged';
      await forever(inner);
    } catch (e) {
      if (!(e instanceof Aborted)) throw e;
      if (scope.aborted) {
        const result = this.root.aborted
          ? phase === 'bridged'
            ? 'bridged'
            : 'bridging-in-process'
          : phase === 'bridged'
            ? 'redirected-from-bridged'
            : 'redirected';
        bridge.leave(this);
        this.noteQueue(q, result, m);
        if (action) this.notify('action', action, method, { QueueResult: result, ...qp() });
        throw e;
      }
      // The agent's side ended the bridge: this caller carries on.
    } finally {
      bridge.leave(this);
      inner.dispose();
      this.bridge = undefined;
      if (this.live) this.activity = 'twiml';
    }
    const result = phase === 'bridged' ? 'bridged' : 'bridging-in-process';
    this.noteQueue(q, result, m);
    const params = { QueueResult: result, ...qp() };
    return action ? { kind: 'goto', target: { kind: 'fetch', url: action, method, params, webhookKind: 'action' } } : null;
  }

  // ---------------------------------------------------------------- dial

  private async dial(v: DialVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
    const first = v.nouns[0];
    if (!first) return null;
    const action = v.action ? this.resolveUrl(v.action, ctx) : undefined;
    // The Dial was interrupted (hang-up or redirect): record the result; after a hang-up, Twilio still
    // requests the action (answer ignored).
    const notifyAction = (params: Record<string, string>, record: DialResultRecord): void => {
      this.dialResults.push(record);
      if (action && this.root.aborted) this.notify('action', action, v.method, params);
    };
    let out: DialOutcome;
    if (first.kind === 'Conference') out = await this.dialConference(first, ctx, scope, notifyAction);
    else if (first.kind === 'Queue') out = await this.dialQueue(v, first, ctx, scope, notifyAction);
    else out = await this.dialEndpoints(v, v.nouns as EndpointNoun[], ctx, scope, notifyAction);
    this.dialResults.push(out.record);
    if (!action) return null;
    return { kind: 'goto', target: { kind: 'fetch', url: action, method: v.method, params: out.params, webhookKind: 'action' } };
  }

  private createLeg(n: EndpointNoun, v: DialVerb, ctx: ExecCtx): Call {
    const ep = this.core.resolveEndpoint(n.address);
    const leg = new Call(this.core, {
      direction: 'outbound-dial',
      from: v.callerId ?? this.from,
      to: n.address,
      behaviour: ep,
      endpoint: ep,
      parentCallSid: this.sid,
      statusCallback: n.statusCallback
        ? { url: this.resolveUrl(n.statusCallback, ctx), method: n.statusCallbackMethod, events: n.statusCallbackEvents }
        : undefined,
    });
    leg.startOutbound(leg.dialLegTarget(n.url ? this.resolveUrl(n.url, ctx) : undefined, n.method), v.timeoutS * 1000);
    return leg;
  }

  /** What a dialed leg runs once answered: its whisper (`url`), then the bridge until someone leaves. */
  private dialLegTarget(url: string | undefined, method: HttpMethod): DocTarget {
    return {
      kind: 'internal',
      name: 'dial-leg',
      run: async (scope: Scope): Promise<Step> => {
        const bridge = await race(this.bridgeAssigned.promise, scope);
        this.bridge = bridge;
        this.activity = 'bridge';
        const inner = scope.child();
        void bridge.ended.promise.then(() => inner.abort({ type: 'stop', why: 'bridge ended' }));
        try {
          if (url) {
            const r = await this.playSideDoc(url, method, {}, { context: 'whisper', kind: 'whisper', scope: inner, externalForever: false });
            if (r === 'hangup') return { kind: 'end', by: 'server' };
          }
          bridge.connect();
          await forever(inner);
        } catch (e) {
          if (e instanceof Aborted && !scope.aborted) return { kind: 'end', by: 'twilio' };
          throw e;
        } finally {
          bridge.leave(this);
          inner.dispose();
          this.bridge = undefined;
        }
        return { kind: 'end', by: 'twilio' };
      },
    };
  }

  private firstAnswer(legs: Call[]): Promise<{ winner?: Call; outcomes: RingOutcome[] }> {
    return new Promise((resolve) => {
      let pending = legs.length;
      let done = false;
      const outcomes: RingOutcome[] = [];
      for (const l of legs) {
        void l.ringOutcome.promise.then((o) => {
          if (done) return;
          if (o === 'answered') {
            done = true;
            resolve({ winner: l, outcomes });
            return;
          }
          outcomes.push(o);
          if (--pending === 0) {
            done = true;
            resolve({ outcomes });
          }
        });
      }
    });
  }

  private async dialEndpoints(
    v: DialVerb,
    nouns: EndpointNoun[],
    ctx: ExecCtx,
    scope: Scope,
    notifyAction: (p: Record<string, string>, r: DialResultRecord) => void,
  ): Promise<DialOutcome> {
    this.activity = 'dialing';
    const legs = nouns.map((n) => this.createLeg(n, v, ctx));
    const firstSid = (legs[0] as Call).sid;
    let picked: { winner?: Call; outcomes: RingOutcome[] };
    try {
      picked = await race(this.firstAnswer(legs), scope);
    } catch (e) {
      for (const l of legs) l.hangup('twilio');
      notifyAction(
        { DialCallStatus: 'canceled', DialCallSid: firstSid, DialBridged: 'false' },
        { kind: 'endpoint', status: 'canceled', dialCallSid: firstSid, bridged: false },
      );
      throw e;
    }
    for (const l of legs) if (l !== picked.winner) l.hangup('twilio');
    const winner = picked.winner;
    if (!winner) {
      const o = picked.outcomes;
      const status = o.includes('no-answer') ? 'no-answer' : o.includes('busy') ? 'busy' : o.includes('canceled') ? 'canceled' : 'failed';
      if (this.live) this.activity = 'twiml';
      return {
        params: { DialCallStatus: status, DialCallSid: firstSid, DialBridged: 'false' },
        record: { kind: 'endpoint', status, dialCallSid: firstSid, bridged: false },
      };
    }
    const bridge = new Bridge(this, winner, this.clock, v.timeLimitS * 1000);
    this.bridge = bridge;
    this.activity = 'bridge';
    winner.assignBridge(bridge);
    const params = (): Record<string, string> => ({
      DialCallStatus: bridge.connectedAt !== undefined ? 'completed' : 'no-answer',
      DialCallSid: winner.sid,
      DialCallDuration: String(bridge.durationS()),
      DialBridged: String(bridge.connectedAt !== undefined),
    });
    const record = (): DialResultRecord => ({
      kind: 'endpoint',
      status: params().DialCallStatus ?? '',
      dialCallSid: winner.sid,
      durationS: bridge.durationS(),
      bridged: bridge.connectedAt !== undefined,
    });
    return this.untilBridgeEnds(bridge, scope, () => ({ params: params(), record: record() }), notifyAction);
  }

  /**
   * Wait for a Dial's bridge to end and give its outcome; if the call stops running this TwiML first
   * (hang-up, redirect), leave the bridge and notify the action with the outcome so far.
   */
  private async untilBridgeEnds(
    bridge: { ended: { promise: Promise<unknown> }; leave(call: Call): void },
    scope: Scope,
    outcome: () => DialOutcome,
    notifyAction: (p: Record<string, string>, r: DialResultRecord) => void,
  ): Promise<DialOutcome> {
    try {
      await race(bridge.ended.promise, scope);
    } catch (e) {
      bridge.leave(this);
      const o = outcome();
      notifyAction(o.params, o.record);
      throw e;
    } finally {
      this.bridge = undefined;
      if (this.live) this.activity = 'twiml';
    }
    return outcome();
  }

  private async dialQueue(
    v: DialVerb,
    noun: QueueNoun,
    ctx: ExecCtx,
    scope: Scope,
    notifyAction: (p: Record<string, string>, r: DialResultRecord) => void,
  ): Promise<DialOutcome> {
    const q = this.core.queueRegistry.byFriendlyName(noun.name);
    if (!q) {
      return {
        params: { DialCallStatus: 'failed', DialBridged: 'false' },
        record: { kind: 'queue', status: 'failed', bridged: false },
      };
    }
    this.activity = 'dialing';
    let m = q.takeFront(this.clock.now());
    if (!m) {
      try {
        m = (await q.waitForMember(this.clock, v.timeoutS * 1000, scope)) ?? undefined;
      } catch (e) {
        notifyAction(
          { DialCallStatus: 'canceled', DialBridged: 'false', QueueSid: q.sid },
          { kind: 'queue', status: 'canceled', bridged: false },
        );
        throw e;
      }
    }
    if (!m) {
      if (this.live) this.activity = 'twiml';
      return {
        params: { DialCallStatus: 'no-answer', DialBridged: 'false', QueueSid: q.sid },
        record: { kind: 'queue', status: 'no-answer', bridged: false },
      };
    }
    const member = m;
    const bridge = new Bridge(this, member.call, this.clock, v.timeLimitS * 1000);
    const queueTimeS = Math.floor(((member.leftAt ?? this.clock.now()) - member.enqueuedAt) / 1000);
    this.bridge = bridge;
    this.activity = 'bridge';
    member.outcome.resolve({
      type: 'bridged',
      bridge,
      dequeuer: this,
      url: noun.url ? this.resolveUrl(noun.url, ctx) : undefined,
      method: noun.method,
    });
    const params = (): Record<string, string> => ({
      DialCallStatus: bridge.connectedAt !== undefined ? 'completed' : 'failed',
      DialCallSid: member.call.sid,
      DialCallDuration: String(bridge.durationS()),
      DialBridged: String(bridge.connectedAt !== undefined),
      QueueSid: q.sid,
      QueueTime: String(queueTimeS),
    });
    const record = (): DialResultRecord => ({
      kind: 'queue',
      status: params().DialCallStatus ?? '',
      dialCallSid: member.call.sid,
      durationS: bridge.durationS(),
      bridged: bridge.connectedAt !== undefined,
    });
    return this.untilBridgeEnds(bridge, scope, () => ({ params: params(), record: record() }), notifyAction);
  }

  private async dialConference(
    noun: ConferenceNoun,
    ctx: ExecCtx,
    scope: Scope,
    notifyAction: (p: Record<string, string>, r: DialResultRecord) => void,
  ): Promise<DialOutcome> {
    const conf = this.core.conferenceRegistry.getOrCreate(noun.name);
    if (conf.connected().length >= noun.maxParticipants) {
      return { params: { DialCallStatus: 'failed' }, record: { kind: 'conference', status: 'failed', bridged: false } };
    }
    const opts: JoinOptions = {
      label: noun.participantLabel,
      muted: noun.muted,
      coaching: noun.coach !== undefined,
      callSidToCoach: noun.coach,
      startConferenceOnEnter: noun.startConferenceOnEnter,
      endConferenceOnExit: noun.endConferenceOnExit,
      beep: noun.beep,
      waitUrl: noun.waitUrl === undefined || noun.waitUrl === '' ? noun.waitUrl : this.resolveUrl(noun.waitUrl, ctx),
      waitMethod: noun.waitMethod,
      statusCallback: noun.statusCallback
        ? { url: this.resolveUrl(noun.statusCallback, ctx), method: noun.statusCallbackMethod, events: noun.statusCallbackEvents }
        : undefined,
      source: 'twiml',
    };
    const joinedAt = this.clock.now();
    const duration = (): string => String(Math.round((this.clock.now() - joinedAt) / 1000));
    try {
      await this.inConference(conf, opts, scope);
    } catch (e) {
      const d = duration();
      notifyAction(
        { DialCallStatus: 'answered', DialCallDuration: d },
        { kind: 'conference', status: 'answered', durationS: Number(d), bridged: true },
      );
      throw e;
    }
    const d = duration();
    return {
      params: { DialCallStatus: 'answered', DialCallDuration: d },
      record: { kind: 'conference', status: 'answered', durationS: Number(d), bridged: true },
    };
  }

  /** Be a participant of `conf` until the conference lets go (ended, kicked) or this call is interrupted. */
  async inConference(conf: Conference, opts: JoinOptions, scope: Scope): Promise<LeaveReason> {
    const pScope = scope.child();
    const confs = this.core.conferenceRegistry;
    const p = confs.join(conf, this, opts, pScope);
    this.conference = conf;
    this.activity = 'conference';
    try {
      return await race(p.left.promise, pScope);
    } catch (e) {
      if (e instanceof Aborted) confs.leave(p, this.root.aborted ? 'hangup' : 'redirected');
      throw e;
    } finally {
      pScope.abort({ type: 'stop', why: 'left the conference' });
      this.conference = undefined;
      if (this.live) this.activity = 'twiml';
    }
  }
}
