/**
 * Every Lua script of src/store/lua as a typed method, in the manner of BullMQ's `Scripts` class: each
 * method takes the script's KEYS and ARGV as labelled tuples (their order and count are checked by the
 * compiler, their meaning is in the script's header) and returns the reply typed as the header says. Callers
 * never name a script by string. A script added to src/store/lua without a method here (or the reverse) fails
 * at start-up (createScripts) and in test/unit/scripts.test.ts.
 */
import { defineScripts, loadScripts, type RedisClient, type ScriptDef, type ScriptRunner } from './redis.js';

type Arg = string | number;
/** A reply carrying the domain events the script appended: `[head, ...eventJson]` or `[head, [eventJson...]]`. */
export type EventsReply = unknown[];
/** A `{ 'result', { eventJson... } }` reply of the queue scripts. */
export type QueueReply = [result: string, events: string[]];
/** The agent index keys every script that moves an agent takes (src/store/lua/include/agent-index.lua). */
export type AgentIndexKeys = readonly [signedIn: string, statePrefix: string, stateCounts: string, skillPrefix: string];

export interface Scripts {
  // ---- queue ({q:<name>} keys; queue/store.ts)
  queueEnqueue(
    keys: readonly [
      held: string,
      ready: string,
      caller: string,
      seq: string,
      since: string,
      callbacks: string,
      arrivals: string,
      tally: string,
      events: string,
      legacyArrivals: string,
    ],
    args: readonly [
      queue: string,
      callSid: string,
      contactId: string,
      callerHash: string,
      priority: number,
      front: Arg,
      countOffer: Arg,
      maxLength: number,
      overflowNoAgents: Arg,
      overflowTarget: string,
      serviceLevelSeconds: number,
      language: string,
      ivrPath: string,
      now: number,
      arrivalsKeptMs: number,
      tombstoneTtlSeconds: number,
      ...meta: string[],
    ],
  ): Promise<unknown[]>;
  queueLeave(
    keys: readonly [
      held: string,
      ready: string,
      caller: string,
      since: string,
      offering: string,
      callbacks: string,
      tally: string,
      events: string,
      left: string,
    ],
    args: readonly [
      queue: string,
      callSid: string,
      outcome: string,
      waitSeconds: Arg,
      shortAbandonSeconds: number,
      serviceLevelSeconds: number,
      overflowTarget: string,
      overflowReason: string,
      agentId: string,
      team: string,
      offerId: string,
      now: number,
      tombstoneTtlSeconds: number,
      leftKeptMs: number,
    ],
  ): Promise<[result: string, events: string[], priorState: string]>;
  queueCallback(
    keys: readonly [ready: string, caller: string, since: string, callbacks: string, tally: string, events: string, held: string],
    args: readonly [queue: string, callSid: string, serviceLevelSeconds: number, now: number, waitSeconds: Arg],
  ): Promise<QueueReply>;
  queueCallbackDone(
    keys: readonly [held: string, ready: string, caller: string, callbacks: string, offering: string, tally: string, events: string],
    args: readonly [queue: string, callSid: string, result: string, now: number, tombstoneTtlSeconds: number],
  ): Promise<QueueReply>;
  /** Reply: the claimed caller hash as a flat field/value array, or null when none is claimable. */
  queueClaim(
    keys: readonly [ready: string, offering: string, callerPrefix: string, held: string],
    args: readonly [offerId: string, agentId: string, deadline: number, now: number],
  ): Promise<string[] | null>;
  queueRelease(
    keys: readonly [held: string, ready: string, caller: string, offering: string],
    args: readonly [callSid: string, offerId: string],
  ): Promise<'released' | 'stale' | 'gone'>;
  queueBridging(
    keys: readonly [caller: string, offering: string],
    args: readonly [callSid: string, offerId: string, now: number],
  ): Promise<'bridging' | 'gone'>;
  /** Reply: the number of entries rewritten with the short field names. */
  queueUpgrade(
    keys: readonly [legacyWaiting: string, callerPrefix: string, ready: string, held: string],
    args: readonly [],
  ): Promise<number>;
  /** Reply: [entries ahead, size, state, enqueuedAt], or null when the caller is not in the queue. */
  queuePosition(
    keys: readonly [ready: string, held: string, caller: string],
    args: readonly [callSid: string],
  ): Promise<[ahead: number, size: number, state: string, enqueuedAt: string] | null>;
  /** Reply: counted arrivals at or after `since`. */
  queueArrivals(keys: readonly [arrivals: string, legacyArrivals: string], args: readonly [since: number]): Promise<number>;
  queueEstimate(
    keys: readonly [caller: string, events: string],
    args: readonly [queue: string, callSid: string, seconds: number, position: number, now: number],
  ): Promise<QueueReply>;
  queueSetSid(keys: readonly [caller: string], args: readonly [queueSid: string]): Promise<[stored: number, awaitedBy: string]>;
  queueAwaitSid(
    keys: readonly [caller: string],
    args: readonly [offerId: string],
  ): Promise<[result: 'sid' | 'waiting' | 'gone', queueSid: string]>;
  // ---- agents ({agents} keys; agents/store.ts)
  agentUpsert(
    keys: readonly [agent: string, all: string, ...index: AgentIndexKeys, skills: string],
    args: readonly [agentId: string, team: string, skills: string, contact: string, now: number],
  ): Promise<'created' | 'updated'>;
  /** Reply: [staffed, available]. */
  agentStaffed(
    keys: readonly [signedIn: string, availableSet: string, skillPrefix: string],
    args: readonly [requiredSkillsJson: string, limit: number],
  ): Promise<[number, number]>;
  /** Reply: [agents, signed in]. */
  agentIndexRebuild(
    keys: readonly [all: string, agentPrefix: string, ...index: AgentIndexKeys, skills: string],
    args: readonly [statesJson: string],
  ): Promise<[number, number]>;
  agentSetState(
    keys: readonly [agent: string, available: string, offerDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [to: string, reason: string, instance: string, now: number],
  ): Promise<EventsReply>;
  agentReserve(
    keys: readonly [available: string, offerDeadlines: string, rr: string, events: string, agentPrefix: string, ...index: AgentIndexKeys],
    args: readonly [
      offerId: string,
      queue: string,
      callSid: string,
      contactId: string,
      strategy: string,
      deadline: number,
      now: number,
      requiredSkillsJson: string,
      skipJson: string,
      onlyAgent: string,
    ],
  ): Promise<EventsReply>;
  agentSetOfferCall(keys: readonly [agent: string], args: readonly [offerId: string, callSid: string, contactId: string]): Promise<'ok'>;
  agentAccept(
    keys: readonly [agent: string, offerDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [offerId: string, now: number],
  ): Promise<EventsReply>;
  agentReject(
    keys: readonly [agent: string, available: string, offerDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [offerId: string, now: number],
  ): Promise<EventsReply>;
  agentCancelOffer(
    keys: readonly [agent: string, available: string, offerDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [offerId: string, silent: '1' | '0', now: number],
  ): Promise<EventsReply>;
  agentExpireOffers(
    keys: readonly [offerDeadlines: string, events: string, agentPrefix: string, ...index: AgentIndexKeys],
    args: readonly [now: number, limit: number],
  ): Promise<EventsReply>;
  agentBridgeFailed(
    keys: readonly [agent: string, available: string, offerDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [offerId: string, now: number],
  ): Promise<EventsReply>;
  agentCallConnected(
    keys: readonly [agent: string],
    args: readonly [callSid: string, contactId: string, now: number],
  ): Promise<'connected' | 'already'>;
  agentHold(
    keys: readonly [agent: string, events: string],
    args: readonly [callSid: string, on: '1' | '0', now: number],
  ): Promise<EventsReply>;
  agentEndCall(
    keys: readonly [agent: string, available: string, wrapDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [callSid: string, wrapUpSeconds: number, now: number],
  ): Promise<EventsReply>;
  agentWrapUp(
    keys: readonly [agent: string, available: string, wrapDeadlines: string, events: string, ...index: AgentIndexKeys],
    args: readonly [callSid: string, disposition: string, code: string, auto: '1' | '0', now: number],
  ): Promise<EventsReply>;
  agentExpireWrapUps(
    keys: readonly [wrapDeadlines: string, available: string, events: string, agentPrefix: string, ...index: AgentIndexKeys],
    args: readonly [now: number, limit: number],
  ): Promise<EventsReply>;
  /** Reply: the agent's state. */
  agentConnected(
    keys: readonly [agent: string, graceDeadlines: string],
    args: readonly [agentId: string, instance: string],
  ): Promise<string>;
  /** Reply: the sign-out deadline (ms), or null when none applies. */
  agentDisconnected(
    keys: readonly [agent: string, graceDeadlines: string],
    args: readonly [agentId: string, instance: string, graceMs: number, now: number],
  ): Promise<number | null>;
  agentExpireGrace(
    keys: readonly [
      graceDeadlines: string,
      available: string,
      offerDeadlines: string,
      wrapDeadlines: string,
      events: string,
      agentPrefix: string,
      ...index: AgentIndexKeys,
    ],
    args: readonly [now: number, limit: number],
  ): Promise<EventsReply>;
  // ---- calls, contacts, records, rate limits
  /** Reply: ['created'], ['exists', field, value, ...] or ['legacy', json]. */
  callCreate(
    keys: readonly [state: string, legacyState: string],
    args: readonly [ttlSeconds: number, ...fieldValues: string[]],
  ): Promise<string[]>;
  callSave(
    keys: readonly [state: string, legacyState: string],
    args: readonly [ttlSeconds: number, deleteCount: number, ...fieldsThenFieldValues: string[]],
  ): Promise<'ok'>;
  /** Reply: [isNew 0|1, isLatest 0|1, latestStatus, ...('hash', field, value...) | ('legacy', json) | ('none')]. */
  callStatus(
    keys: readonly [status: string, state: string, legacyState: string],
    args: readonly [sequence: number, callStatus: string, ttlSeconds: number, readState: '0' | '1'],
  ): Promise<[number, number, string, ...string[]]>;
  /** Reply: null when not a repeat, else [queue, disposition, callSid of the repeated call]. */
  contactRepeat(
    keys: readonly [repeatIndex: string, callerCalls: string],
    args: readonly [callerHash: string, callSid: string, now: number, windowMs: number],
  ): Promise<[string, string, string?] | null>;
  /** Reply: the stream entry id appended, or null. `events`: per event, its id ('' if it needs none) and its operations' JSON. */
  recordFold(
    keys: readonly [record: string, stream: string, legacyRecord: string],
    args: readonly [now: number, retentionMs: number, workingTtlSeconds: number, callSid: string, ...events: string[]],
  ): Promise<string | null>;
  /** Reply: [changed 0|1, the recording's status now]. */
  recordingState(
    keys: readonly [recording: string],
    args: readonly [
      recordingSid: string,
      change: 'in-progress' | 'completed' | 'failed' | 'absent' | 'paused' | 'resumed',
      conferenceSid: string,
      queue: string,
      durationSeconds: Arg,
      url: string,
      now: number,
      ttlSeconds: number,
    ],
  ): Promise<[number, string]>;
  /** Reply: [ok 0|1, retryAfterMs]. */
  rateLimit(
    keys: readonly [bucket: string],
    args: readonly [capacity: number, perSecond: number, cost: number, mode: 'take' | 'check', now: Arg],
  ): Promise<[number, number]>;
}

export type ScriptName = keyof Scripts;

const NAMES: readonly ScriptName[] = [
  'queueEnqueue',
  'queueLeave',
  'queueCallback',
  'queueCallbackDone',
  'queueClaim',
  'queueRelease',
  'queueBridging',
  'queueEstimate',
  'queueArrivals',
  'queueUpgrade',
  'queuePosition',
  'queueSetSid',
  'queueAwaitSid',
  'agentUpsert',
  'agentStaffed',
  'agentIndexRebuild',
  'agentSetState',
  'agentReserve',
  'agentSetOfferCall',
  'agentAccept',
  'agentReject',
  'agentCancelOffer',
  'agentExpireOffers',
  'agentBridgeFailed',
  'agentCallConnected',
  'agentHold',
  'agentEndCall',
  'agentWrapUp',
  'agentExpireWrapUps',
  'agentConnected',
  'agentDisconnected',
  'agentExpireGrace',
  'callCreate',
  'callSave',
  'callStatus',
  'contactRepeat',
  'recordFold',
  'recordingState',
  'rateLimit',
];

/** The names of the typed methods (for the test that every Lua file has one). */
export const SCRIPT_NAMES: readonly ScriptName[] = NAMES;

/**
 * Define every script on the client (EVALSHA, EVAL after a Redis restart) and return the typed methods.
 * Throws when src/store/lua and the methods above disagree.
 */
export function createScripts(client: RedisClient, defs: ScriptDef[] = loadScripts()): Scripts {
  const runners: Record<string, ScriptRunner> = defineScripts(client, defs);
  const files = new Set(defs.map((d) => d.name));
  const missing = NAMES.filter((n) => !files.has(n));
  const extra = [...files].filter((n) => !(NAMES as readonly string[]).includes(n));
  if (missing.length || extra.length)
    throw new Error(
      `src/store/lua and src/store/scripts.ts disagree: no file for ${missing.join(', ') || '-'}; no method for ${extra.join(', ') || '-'}`,
    );
  const out: Record<string, (keys: readonly string[], args: readonly Arg[]) => Promise<unknown>> = {};
  for (const name of NAMES) {
    const run = runners[name]!;
    out[name] = (keys, args) => run(keys, args);
  }
  return out as unknown as Scripts;
}
