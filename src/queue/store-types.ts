/**
 * The queue store's contract: what goes in and comes out of each state change and read (store.ts has the
 * data layout and the implementation).
 */
import type { CallbackResult, DomainEvent, OverflowReason, OverflowTarget } from '../events.js';

export type CallerState = 'waiting' | 'offered' | 'callback' | 'callback_offered' | 'bridging';
export type ClaimableState = 'waiting' | 'callback';

export interface EnqueueInput {
  queue: string;
  callSid: string;
  contactId: string;
  callerHash: string;
  /** 0..9, higher is served first. */
  priority: number;
  /** Re-enter at the front of its priority (transfers). */
  front?: boolean;
  /** False for transfers and callback re-entries: the same contact, not a new offer. Default true. */
  countOffer?: boolean;
  /** Callers on the line (callbacks not included) at or above which a new call overflows as `full`. */
  maxLength: number;
  noAgentsStaffed?: boolean;
  whenNoAgents: 'wait' | 'overflow';
  /** For the queue.left of an immediate overflow (full / no agents). */
  serviceLevelSeconds: number;
  overflowTarget?: OverflowTarget;
  language?: string;
  ivrPath?: string;
  /** Extra string fields kept with the caller and returned by claimNext. */
  meta?: Record<string, string>;
  at?: number;
}

export type EnqueueResult =
  | { result: 'queued'; position: number; size: number; events: DomainEvent[] }
  | { result: 'already'; position: number; size: number; events: DomainEvent[] }
  /** Counted offered and left at once as overflow (reason max_length / no_agents, wait 0). */
  | { result: 'full'; events: DomainEvent[] }
  | { result: 'no_agents'; events: DomainEvent[] }
  /** This call already left this queue (a late or retried counted enqueue): nothing done. */
  | { result: 'gone'; events: DomainEvent[] };

export interface PositionInfo {
  /** 1-based: every entry ahead counts, callbacks holding their place and callers being offered too. */
  position: number;
  size: number;
  state: CallerState;
  enqueuedAt: number;
  waitSeconds: number;
}

export interface LeaveInput {
  queue: string;
  callSid: string;
  outcome: 'abandoned' | 'overflow' | 'answered';
  /** Twilio's QueueTime when known (the authority); else now − enqueuedAt. */
  waitSeconds?: number;
  shortAbandonSeconds: number;
  serviceLevelSeconds: number;
  overflowTarget?: OverflowTarget;
  overflowReason?: OverflowReason;
  /** Defaults to the agent of the current offer. */
  agentId?: string;
  team?: string;
  /** For answered: must be the caller's current offer, else SB_CONFLICT (STALE_OFFER). */
  offerId?: string;
  at?: number;
}

export interface LeaveResult {
  /** gone: not in the queue any more (or a callback entry, whose outcome is already counted). */
  result: 'left' | 'gone';
  events: DomainEvent[];
  /** The caller's state before (waiting, offered, callback, ...), '' when it was not in the queue. */
  priorState?: string;
}

export interface CallbackInput {
  queue: string;
  callSid: string;
  serviceLevelSeconds: number;
  /** Accepted for symmetry with leave; a callback is never a short abandon. */
  shortAbandonSeconds?: number;
  /** Twilio's QueueTime when known; else now − enqueuedAt. */
  waitSeconds?: number;
  at?: number;
}

export interface CallbackRequestResult {
  /** being_offered: an agent is being offered (or bridged to) this caller right now; nothing changed. */
  result: 'requested' | 'already' | 'being_offered' | 'gone';
  events: DomainEvent[];
}

export interface ClaimInput {
  queue: string;
  offerId: string;
  agentId: string;
  /** When the offer expires (ms); kept with the caller for inspection. */
  deadline: number;
  at?: number;
}

export interface ClaimedCaller {
  callSid: string;
  contactId: string;
  callerHash: string;
  /** The state it was claimed from: a caller on the line, or a callback to place. */
  state: ClaimableState;
  enqueuedAt: number;
  queueSid: string | null;
  priority: number;
  language: string | null;
  ivrPath: string | null;
  meta: Record<string, string>;
}

export interface CallerInfo {
  callSid: string;
  contactId: string;
  callerHash: string;
  priority: number;
  enqueuedAt: number;
  state: CallerState;
  /** The current offer, while offered or bridging. */
  offerId: string | null;
  agentId: string | null;
  queueSid: string | null;
  ewtToldSeconds: number | null;
  language: string | null;
  ivrPath: string | null;
  /** A callback holding its place (state callback, callback_offered or bridging). */
  callback: boolean;
  /** False for a re-entry (countOffer false): not an offer, no queue.left. */
  counted: boolean;
  meta: Record<string, string>;
}

export interface QueueSnapshot {
  /** Callers on the line (callbacks excluded), including those being offered or bridged. */
  waiting: number;
  callbacksPending: number;
  /** Entries being offered to an agent right now (callbacks included). */
  offered: number;
  /** Entries whose agent accepted, not yet connected. */
  bridging: number;
  /** Of callers on the line; 0 when none. */
  longestWaitSeconds: number;
  /** Every entry: callers on the line and callbacks. */
  size: number;
}

export interface QueueTally {
  offered: number;
  answered: number;
  abandoned: number;
  /** Subset of abandoned. */
  shortAbandoned: number;
  overflow: number;
  callback: number;
  /** Counted entries not yet left (the "still waiting" of the conservation). */
  inQueue: number;
  /** Entries with countOffer false (not offers). */
  reentered: number;
  callbackConnected: number;
  callbackFailed: number;
}

export interface QueueStore {
  /** Put a caller in the queue (or overflow it at once when full / no agents); idempotent per callSid. */
  enqueue(input: EnqueueInput): Promise<EnqueueResult>;
  /** The caller's place and wait, or null when it is not in the queue. */
  position(queue: string, callSid: string, at?: number): Promise<PositionInfo | null>;
  /** The caller's record while it is in the queue (on the line or as a callback), else null. */
  callerInfo(queue: string, callSid: string): Promise<CallerInfo | null>;
  /** The language the caller chose in the IVR, kept with its queue entry (null when none). */
  language(queue: string, callSid: string): Promise<string | null>;
  /**
   * Remember Twilio's queue sid for a caller still in the queue (`stored` false when it is not). `awaitedBy`:
   * the offer whose bridge was waiting for the sid (see awaitQueueSid); the caller of this carries on with
   * its dequeue. Null almost always.
   */
  setQueueSid(queue: string, callSid: string, queueSid: string): Promise<{ stored: boolean; awaitedBy: string | null }>;
  /**
   * The queue sid a bridge needs to dequeue the caller: `sid` when known, else the caller is marked as awaited
   * by `offerId` (`waiting`) and the next setQueueSid hands the offer back; `gone` when the caller is not being
   * bridged under this offer.
   */
  awaitQueueSid(
    queue: string,
    callSid: string,
    offerId: string,
  ): Promise<{ result: 'sid'; queueSid: string } | { result: 'waiting' | 'gone' }>;
  /** Stop awaiting the queue sid; true when the wait was still there (nobody has taken it). */
  stopAwaitingQueueSid(queue: string, callSid: string): Promise<boolean>;
  /** A caller leaves (answered / abandoned / overflow) and queue.left is emitted; idempotent ('gone'). */
  leave(input: LeaveInput): Promise<LeaveResult>;
  /** Turn a waiting caller into a callback that keeps its place; counted once as outcome callback. */
  requestCallback(input: CallbackInput): Promise<CallbackRequestResult>;
  /** Atomically claim the first waiting caller or callback for an offer; null when none is claimable. */
  claimNext(input: ClaimInput): Promise<ClaimedCaller | null>;
  /**
   * Claims (state offered / callback_offered) whose offer deadline is before `deadlineBefore`: normally
   * none, since the agent side's offer timeout releases them; one left here was orphaned by an instance that
   * died between claiming the caller and reserving an agent. At most `limit`.
   */
  staleClaims(queue: string, deadlineBefore: number, limit?: number): Promise<{ callSid: string; offerId: string; agentId: string }[]>;
  /**
   * Callers on the line (callbacks excluded) enqueued before `enqueuedBefore` (ms), longest wait first, at
   * most `limit`: candidates for a check with Twilio (a live caller leaves at the queue's max wait).
   */
  enqueuedBefore(queue: string, enqueuedBefore: number, limit: number): Promise<string[]>;
  /** True for the first caller of this in `ttlMs` (across instances): who checks a caller with Twilio now. */
  claimCheck(queue: string, callSid: string, ttlMs: number): Promise<boolean>;
  /** Give a claimed entry back with its place kept; no-op ('stale') when offerId is not its offer. */
  releaseClaim(input: { queue: string; callSid: string; offerId: string }): Promise<'released' | 'stale' | 'gone'>;
  /** The agent accepted: the entry is bridging (keeps its place); throws SB_CONFLICT on a stale offer. */
  markBridging(input: { queue: string; callSid: string; offerId: string; at?: number }): Promise<'bridging' | 'gone'>;
  /** Record an estimate told to the caller (the first is kept as ewtTold); emits ewt.announced. */
  recordEstimate(input: { queue: string; callSid: string; seconds: number; position: number; at?: number }): Promise<{
    result: 'first' | 'again' | 'gone';
    events: DomainEvent[];
  }>;
  /** Remove a finished callback entry; emits callback.attempt with how it ended (no second queue.left). */
  callbackFinished(input: { queue: string; callSid: string; result: CallbackResult; at?: number }): Promise<{
    result: 'removed' | 'gone';
    events: DomainEvent[];
  }>;
  /**
   * Start-up, before routing: rewrite the queue's entries written with the long field names of the format
   * before, so callers waiting across an upgrade are served. Idempotent; the number rewritten.
   */
  upgradeEntries(queue: string): Promise<number>;
  /** Counts for gauges and wallboards, read atomically. */
  snapshot(queue: string, at?: number): Promise<QueueSnapshot>;
  /** The queue's running totals (conservation: offered = answered + abandoned + overflow + callback + inQueue). */
  tally(queue: string): Promise<QueueTally>;
  /** The newest `n` handle times (s), newest first. */
  recentHandleTimes(queue: string, n: number): Promise<number[]>;
  /** Record a handle time (s); the list keeps the newest 200. */
  pushHandleTime(queue: string, seconds: number): Promise<void>;
  /** Counted arrivals (offers) since `sinceMs`, within the last 7 days. */
  arrivalsSince(queue: string, sinceMs: number): Promise<number>;
  /**
   * Callers who left the queue (answered, abandoned, overflow) since `sinceMs`, within the last 7 days: their
   * summed wait and how many abandoned (short abandons included), the inputs of the patience estimate.
   */
  leftSince(queue: string, sinceMs: number): Promise<{ left: number; abandoned: number; waitSeconds: number }>;
}
