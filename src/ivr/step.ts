/**
 * The IVR as a pure function: step(ctx, state, input) → { twiml, state, events, handoff }.
 * No I/O and no clock of its own: the caller passes `now`, loads and saves the state. The same state and
 * input always give the same answer, which is what makes retried and reordered webhooks harmless.
 */
import type { CenterConfig, Flow, Hours, IvrNode, MenuNode } from '../config/callcenter.js';
import type { DomainEvent, IvrExit, SurveyKind } from '../events.js';
import { hoursStatus } from './hours.js';
import { newResponse, promptText, speak, type VoiceResponse } from './prompt.js';

export type CallPhase = 'ivr' | 'queue' | 'voicemail' | 'transfer' | 'agent' | 'survey' | 'ended';

export interface IvrState {
  callSid: string;
  flow: string;
  /** The node waiting for input (a menu or a voicemail), or the last node run. */
  node: string;
  language: string;
  retries: number;
  /** Menus the caller came through, for the "back" key. */
  stack: string[];
  /** Nodes visited, oldest first (bounded), shown to agents as the IVR path. */
  path: string[];
  /** A self-service message was played. */
  selfService: boolean;
  /** The caller took a branch that asks for a person (queue, transfer). */
  askedAgent: boolean;
  phase: CallPhase;
  queue?: string;
  startedAt: number;
  callerHash: string;
  contactId: string;
  /** The center's number the caller dialed (Twilio's `To`), for the call record. */
  calledNumber?: string;
  /** The caller pressed the voicemail key while waiting: the queue's Leave goes to voicemail. */
  leaveFor?: 'voicemail';
  /** Twilio reported the call's final status (call.ended was published). */
  callEnded?: boolean;
  /** Survey progress once the agent leg has ended. */
  survey?: { step: SurveyKind | 'done'; queue: string; answers?: Partial<Record<SurveyKind, number>> };
}

export type IvrInput =
  | { kind: 'start' }
  | { kind: 'gather'; node: string; digits?: string; speech?: string; confidence?: number }
  | { kind: 'no_input'; node: string }
  | { kind: 'recorded'; node: string };

export interface IvrUrls {
  gather(node: string): string;
  noInput(node: string): string;
  recorded(node: string): string;
  recordingStatus(node: string): string;
}

export interface StepContext {
  center: CenterConfig;
  flow: Flow;
  now: number;
  urls: IvrUrls;
}

export type IvrHandoff = { kind: 'queue'; queue: string; priority: number | undefined };

export interface StepResult {
  twiml: VoiceResponse;
  state: IvrState;
  events: DomainEvent[];
  /** Set when the call leaves the IVR for a queue: the caller appends the Enqueue. */
  handoff?: IvrHandoff;
}

const MAX_CHAIN = 25;
const MAX_PATH = 30;

/** A fresh state for a call entering a flow. */
export function initialState(args: {
  callSid: string;
  flow: Flow;
  center: CenterConfig;
  now: number;
  callerHash: string;
  contactId: string;
  calledNumber?: string;
}): IvrState {
  return {
    callSid: args.callSid,
    flow: args.flow.id,
    node: args.flow.start,
    language: args.center.defaultLanguage,
    retries: 0,
    stack: [],
    path: [],
    selfService: false,
    askedAgent: false,
    phase: 'ivr',
    startedAt: args.now,
    callerHash: args.callerHash,
    contactId: args.contactId,
    ...(args.calledNumber ? { calledNumber: args.calledNumber } : {}),
  };
}

/** Advance the call by one webhook. */
export function step(ctx: StepContext, state: IvrState, input: IvrInput): StepResult {
  const twiml = newResponse();
  const events: DomainEvent[] = [];
  const s: IvrState = { ...state, stack: [...state.stack], path: [...state.path] };

  if (input.kind === 'start') {
    events.push({
      type: 'call.started',
      at: ctx.now,
      callSid: s.callSid,
      flow: s.flow,
      callerHash: s.callerHash,
      language: s.language,
      ...(s.calledNumber ? { calledNumber: s.calledNumber } : {}),
    });
    return run(ctx, s, s.node, twiml, events);
  }

  // A request for a node the call is no longer at is a retry or a late duplicate: replay the current
  // node without counting anything again.
  if (s.phase !== 'ivr' || input.node !== s.node) {
    return replay(ctx, s, twiml);
  }
  const node = ctx.flow.nodes[s.node];
  if (!node) return exit(ctx, s, twiml, events, 'error');

  if (input.kind === 'recorded') {
    if (node.type !== 'voicemail') return replay(ctx, s, twiml);
    s.phase = 'voicemail';
    if (node.next) {
      s.phase = 'ivr';
      return run(ctx, s, node.next, twiml, events);
    }
    return exit(ctx, s, twiml, events, 'voicemail');
  }

  if (node.type !== 'menu') return replay(ctx, s, twiml);

  if (input.kind === 'no_input') {
    return retry(ctx, s, node, twiml, events, 'timeout');
  }

  const digits = (input.digits ?? '').trim();
  const speech = (input.speech ?? '').trim().toLowerCase();
  if (digits === '' && speech === '') return retry(ctx, s, node, twiml, events, 'timeout');

  if (node.repeatKey && digits === node.repeatKey) {
    renderMenu(ctx, s, node, twiml);
    return { twiml, state: s, events };
  }
  if (node.backKey && digits === node.backKey) {
    const back = s.stack.pop();
    if (back) {
      s.retries = 0;
      return run(ctx, s, back, twiml, events);
    }
    renderMenu(ctx, s, node, twiml);
    return { twiml, state: s, events };
  }

  const option = node.options.find((o) => (digits !== '' ? o.key === digits : o.speech.some((w) => speech.includes(w.toLowerCase()))));
  if (!option) return retry(ctx, s, node, twiml, events, 'invalid');

  if (option.setLanguage && option.setLanguage !== s.language) {
    s.language = option.setLanguage;
    events.push({ type: 'language.selected', at: ctx.now, callSid: s.callSid, language: option.setLanguage });
  }
  s.stack.push(s.node);
  s.retries = 0;
  return run(ctx, s, option.next, twiml, events);
}

/** Run nodes from `start` until one waits for the caller or the call leaves the IVR. */
function run(ctx: StepContext, s: IvrState, start: string, twiml: VoiceResponse, events: DomainEvent[]): StepResult {
  let id: string | undefined = start;
  for (let i = 0; id !== undefined && i < MAX_CHAIN; i++) {
    const node: IvrNode | undefined = ctx.flow.nodes[id];
    if (!node) return exit(ctx, s, twiml, events, 'error');
    s.node = id;
    s.path.push(id);
    if (s.path.length > MAX_PATH) s.path.shift();
    events.push({ type: 'ivr.node', at: ctx.now, callSid: s.callSid, flow: s.flow, node: id });

    switch (node.type) {
      case 'menu':
        s.retries = 0;
        renderMenu(ctx, s, node, twiml);
        return { twiml, state: s, events };
      case 'message':
        speak(twiml, ctx.center, node.prompt, s.language);
        if (node.selfService) s.selfService = true;
        if (!node.next) {
          twiml.hangup();
          return exit(ctx, s, twiml, events, node.selfService || s.selfService ? 'self_service' : 'hangup');
        }
        id = node.next;
        break;
      case 'hours': {
        speak(twiml, ctx.center, node.prompt, s.language);
        const hours: Hours | undefined = ctx.center.hours[node.hours];
        const status: 'open' | 'closed' | 'holiday' = hours ? hoursStatus(hours, ctx.now) : 'closed';
        id = status === 'open' ? node.open : status === 'holiday' ? (node.holiday ?? node.closed) : node.closed;
        if (status !== 'open') s.path.push(`${node.hours}:${status}`);
        break;
      }
      case 'voicemail':
        speak(twiml, ctx.center, node.prompt, s.language);
        twiml.record({
          action: ctx.urls.recorded(id),
          method: 'POST',
          maxLength: node.maxLengthSeconds,
          playBeep: true,
          finishOnKey: '#',
          recordingStatusCallback: ctx.urls.recordingStatus(id),
          recordingStatusCallbackMethod: 'POST',
        });
        // No recording (silence) falls through: thank and end.
        twiml.hangup();
        return { twiml, state: s, events };
      case 'queue':
        speak(twiml, ctx.center, node.prompt, s.language);
        s.askedAgent = true;
        s.phase = 'queue';
        s.queue = node.queue;
        events.push({
          type: 'ivr.exit',
          at: ctx.now,
          callSid: s.callSid,
          flow: s.flow,
          exit: 'queue',
          contained: false,
          path: s.path,
          language: s.language,
        });
        return { twiml, state: s, events, handoff: { kind: 'queue', queue: node.queue, priority: node.priority } };
      case 'transfer':
        speak(twiml, ctx.center, node.prompt, s.language);
        s.askedAgent = true;
        s.phase = 'transfer';
        dialOut(twiml, node.to);
        return exit(ctx, s, twiml, events, 'transfer');
      case 'hangup':
        speak(twiml, ctx.center, node.prompt, s.language);
        twiml.hangup();
        return exit(ctx, s, twiml, events, s.selfService ? 'self_service' : 'hangup');
    }
  }
  return exit(ctx, s, twiml, events, 'error');
}

function retry(
  ctx: StepContext,
  s: IvrState,
  node: MenuNode,
  twiml: VoiceResponse,
  events: DomainEvent[],
  reason: 'invalid' | 'timeout',
): StepResult {
  events.push({ type: 'ivr.invalid', at: ctx.now, callSid: s.callSid, flow: s.flow, node: s.node, reason });
  s.retries += 1;
  if (s.retries > node.maxRetries) {
    s.retries = 0;
    s.stack.push(s.node);
    return run(ctx, s, node.default, twiml, events);
  }
  speak(twiml, ctx.center, reason === 'invalid' ? node.invalidPrompt : node.timeoutPrompt, s.language);
  renderMenu(ctx, s, node, twiml);
  return { twiml, state: s, events };
}

function renderMenu(ctx: StepContext, s: IvrState, node: MenuNode, twiml: VoiceResponse): void {
  const lang = ctx.center.languages[s.language];
  const hints = node.options.flatMap((o) => o.speech);
  const gather = twiml.gather({
    input: node.speech && hints.length ? ['dtmf', 'speech'] : ['dtmf'],
    action: ctx.urls.gather(s.node),
    method: 'POST',
    timeout: node.timeoutSeconds,
    numDigits: node.numDigits ?? 1,
    ...(node.speech && hints.length ? { hints: hints.join(', '), speechTimeout: 'auto' } : {}),
    ...(lang ? { language: lang.twilioLanguage as 'en-US' } : {}),
  });
  speak(gather, ctx.center, node.prompt, s.language);
  // Twilio falls through to the next verb when the caller says nothing.
  twiml.redirect({ method: 'POST' }, ctx.urls.noInput(s.node));
}

/** Answer a stale or repeated request with the current node's TwiML, counting nothing. */
function replay(ctx: StepContext, s: IvrState, twiml: VoiceResponse): StepResult {
  const node = ctx.flow.nodes[s.node];
  if (s.phase === 'ivr' && node?.type === 'menu') renderMenu(ctx, s, node, twiml);
  else if (s.phase === 'ivr' && node?.type === 'voicemail') {
    speak(twiml, ctx.center, node.prompt, s.language);
    twiml.record({
      action: ctx.urls.recorded(s.node),
      maxLength: node.maxLengthSeconds,
      playBeep: true,
      recordingStatusCallback: ctx.urls.recordingStatus(s.node),
    });
    twiml.hangup();
  } else twiml.hangup();
  return { twiml, state: s, events: [] };
}

function exit(ctx: StepContext, s: IvrState, twiml: VoiceResponse, events: DomainEvent[], how: IvrExit): StepResult {
  if (how === 'error' || how === 'voicemail') twiml.hangup();
  s.phase = how === 'voicemail' ? 'voicemail' : how === 'transfer' ? 'transfer' : 'ended';
  events.push({
    type: 'ivr.exit',
    at: ctx.now,
    callSid: s.callSid,
    flow: s.flow,
    exit: how,
    contained: isContained(s, how),
    path: s.path,
    language: s.language,
  });
  return { twiml, state: s, events };
}

/** metrics.md: ended in the IVR after a self-service branch without asking for an agent. */
export function isContained(s: IvrState, how: IvrExit): boolean {
  return s.selfService && !s.askedAgent && (how === 'self_service' || how === 'hangup');
}

/** The event for a caller hanging up while still in the IVR (from the status callback). */
export function hangupInIvr(s: IvrState, now: number): DomainEvent {
  return {
    type: 'ivr.exit',
    at: now,
    callSid: s.callSid,
    flow: s.flow,
    exit: 'hangup',
    contained: isContained(s, 'hangup'),
    path: s.path,
    language: s.language,
  };
}

/** `<Dial>` to a number, a client or a SIP address. */
export function dialOut(twiml: VoiceResponse, to: string): void {
  const dial = twiml.dial({});
  if (to.startsWith('client:')) dial.client({}, to.slice('client:'.length));
  else if (to.startsWith('sip:')) dial.sip({}, to);
  else dial.number({}, to);
}

/** Human-readable text of the current menu prompt (for the agent desk's IVR path). */
export function describeNode(ctx: { center: CenterConfig; flow: Flow }, nodeId: string, language: string): string {
  const node = ctx.flow.nodes[nodeId];
  return node?.prompt ? promptText(ctx.center, node.prompt, language) : nodeId;
}
