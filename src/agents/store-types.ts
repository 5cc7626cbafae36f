/**
 * The agent store's contract: the record it keeps per agent (and how it is read back from the agent's hash),
 * what each operation takes and returns, and the AgentStore interface. The Redis implementation, its data layout and the state table are in store.ts, which
 * re-exports these types so callers import from there.
 */
import { AGENT_STATES, DISPOSITIONS, type AgentState, type Disposition, type DomainEvent, type EventOf } from '../events.js';

export type RoutingStrategy = 'longest_idle' | 'round_robin' | 'fewest_calls';

/** How the agent's latest offer ended (kept so retries of the same answer are recognised). */
export type OfferOutcome = 'accepted' | 'rejected' | 'withdrawn' | 'timeout' | 'released' | 'bridge_failed';

export interface AgentRecord {
  id: string;
  team: string;
  skills: string[];
  contact: string;
  state: AgentState;
  /** When the current state was entered (ms). */
  stateSince: number;
  breakReason: string | null;
  /** When the agent last became available (ms): longest idle first. */
  idleSince: number | null;
  /** Calls handled since the record was created. */
  callsHandled: number;
  /** Calls handled today (UTC day of the store's clock): what fewest_calls compares. */
  callsToday: number;
  lastOfferSeq: number;
  offerId: string | null;
  offerCallSid: string | null;
  offerQueue: string | null;
  offerContactId: string | null;
  offerDeadline: number | null;
  offerResult: OfferOutcome | null;
  /** The call the agent is on or wrapping up. */
  callSid: string | null;
  callQueue: string | null;
  contactId: string | null;
  talkStartedAt: number | null;
  connectedAt: number | null;
  holdStartedAt: number | null;
  /** Hold time closed so far on the current call (an open hold is not included). */
  holdSeconds: number;
  callEndedAt: number | null;
  wrapDeadline: number | null;
  lastCallSid: string | null;
  lastDisposition: Disposition | null;
  instance: string | null;
  connected: boolean;
  graceDeadline: number | null;
}

/** An offer, as the queue side needs it to give the caller back. */
export interface OfferRef {
  agentId: string;
  offerId: string;
  callSid: string;
  queue: string;
}

export interface Events {
  events: DomainEvent[];
}

export interface UpsertAgentInput {
  id: string;
  team: string;
  skills: readonly string[];
  contact: string;
}

export interface ReserveInput {
  offerId: string;
  queue: string;
  /** '' when the router reserves the agent before claiming a caller (then `setOfferCall`). */
  callSid: string;
  contactId?: string | undefined;
  requiredSkills: readonly string[];
  strategy: RoutingStrategy;
  /** Offer deadline (ms). */
  deadline: number;
  excludeAgents?: readonly string[] | undefined;
  /** Reserve this agent or none (transfer to a named agent). */
  onlyAgent?: string | undefined;
}

export interface Reservation extends Events {
  agentId: string;
  contact: string;
  team: string;
}

export type SettableState = 'available' | 'break' | 'offline';

export interface SetStateResult extends Events {
  from: AgentState;
  to: AgentState;
  /** False when the agent was already in that state (nothing happened). */
  changed: boolean;
  /** The offer a reserved agent gave up by signing out: release its caller. */
  releasedOffer: OfferRef | null;
}

export interface AgentCounts {
  byState: Record<AgentState, number>;
  byTeam: Record<string, Record<AgentState, number>>;
}

export interface WrapUpDone {
  agentId: string;
  callSid: string;
  queue: string;
  /** talk + hold + wrap-up. */
  handleSeconds: number;
}

export interface AgentStore {
  /** Create or update an agent from the configuration; an existing agent keeps its state. */
  upsertAgent(a: UpsertAgentInput): Promise<{ created: boolean }>;
  /** One agent's record, or null. */
  get(agentId: string): Promise<AgentRecord | null>;
  /** Every agent, sorted by id (supervisor API). Reads every agent: not for webhooks, sweeps or scrapes. */
  list(): Promise<AgentRecord[]>;
  /** The agents in one state other than offline, sorted by id (from the agent index). */
  listInState(state: Exclude<AgentState, 'offline'>): Promise<AgentRecord[]>;
  /** Agents by state, overall and per team (from the index's counts). */
  countByState(): Promise<AgentCounts>;
  /** Agents by state and team as rows, for the agents gauge (from the index's counts). */
  countByStateAndTeam(): Promise<{ state: AgentState; team: string; count: number }[]>;
  /**
   * Agents having all the skills: signed in (not offline) and available, from the agent index. With
   * `atMost`, each count stops there (enough to know whether anyone is available, for less work).
   */
  staffedFor(skills: readonly string[], atMost?: number): Promise<{ staffed: number; available: number }>;
  /** Recompute the agent index from the agent hashes (start-up; idempotent). */
  rebuildIndex(): Promise<{ agents: number; signedIn: number }>;
  /** Sign in, go on break, sign out (see the transition table above). */
  setState(p: { agentId: string; to: SettableState; reason?: string | undefined; instance?: string | undefined }): Promise<SetStateResult>;
  /** Reserve the best available agent with the skills for an offer, or null when there is none. */
  reserve(p: ReserveInput): Promise<Reservation | null>;
  /** Attach the claimed caller (and contact) to a reservation made with callSid ''. */
  setOfferCall(p: { agentId: string; offerId: string; callSid: string; contactId?: string | undefined }): Promise<void>;
  /** The agent accepts its offer: on_call, talk starts. */
  acceptOffer(p: { agentId: string; offerId: string }): Promise<{ callSid: string; queue: string } & Events>;
  /** The agent rejects its offer: available at the back of the line. `offer` is null for a retry. */
  rejectOffer(p: { agentId: string; offerId: string }): Promise<{ offer: OfferRef | null } & Events>;
  /** The offer is withdrawn (caller gone): available, keeping its place. `silent` skips offer.result. */
  cancelOffer(p: {
    agentId: string;
    offerId: string;
    reason: 'withdrawn';
    silent?: boolean | undefined;
  }): Promise<{ offer: OfferRef | null } & Events>;
  /** Offers past their deadline: the agents go on break (missed_offer); each offer is returned once. */
  expireOffers(p: { now?: number | undefined; limit: number }): Promise<{ expired: OfferRef[] } & Events>;
  /** The caller could not be connected: the agent is available again, keeping its place. */
  bridgeFailed(p: { agentId: string; offerId: string }): Promise<Events>;
  /** The caller is bridged to the agent: talk is counted from now. */
  callConnected(p: { agentId: string; callSid: string; contactId?: string | undefined }): Promise<{ first: boolean } & Events>;
  /** Hold on or off; accumulates hold time. */
  hold(p: { agentId: string; callSid: string; on: boolean }): Promise<{ onHold: boolean; holdSeconds: number } & Events>;
  /** The call ended: wrap-up until the returned deadline (null: no wrap-up, the agent is available). */
  endCall(p: { agentId: string; callSid: string; wrapUpSeconds: number }): Promise<{ wrapDeadline: number | null } & Events>;
  /** Finish wrap-up with a disposition: call.handled, available. `handled` is null for a retry. */
  wrapUp(p: {
    agentId: string;
    callSid: string;
    disposition: Disposition;
    code: string;
    auto?: boolean | undefined;
  }): Promise<{ handled: EventOf<'call.handled'> | null } & Events>;
  /** Wrap-ups past their deadline are finished automatically (not_resolved / auto_wrapup). */
  expireWrapUps(p: { now?: number | undefined; limit: number }): Promise<{ done: WrapUpDone[] } & Events>;
  /** The agent's socket is up on `instance`: cancels a pending sign-out. */
  connected(p: { agentId: string; instance: string }): Promise<{ state: AgentState } & Events>;
  /** The agent's socket on `instance` closed: signed out after graceMs unless it comes back. */
  disconnected(p: { agentId: string; instance: string; graceMs: number }): Promise<{ graceDeadline: number | null } & Events>;
  /** Sign out agents whose grace ran out; offers they held are returned for their callers' release. */
  expireGrace(p: { now?: number | undefined; limit: number }): Promise<{ signedOut: string[]; released: OfferRef[] } & Events>;
}

const OUTCOMES: readonly OfferOutcome[] = ['accepted', 'rejected', 'withdrawn', 'timeout', 'released', 'bridge_failed'];
const DAY_MS = 86_400_000;

const text = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
const ms = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
const count = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));

export function isState(v: string | undefined): v is AgentState {
  return (AGENT_STATES as readonly string[]).includes(v ?? '');
}

/** The agent's hash as a record; null for a missing or damaged hash. */
export function toRecord(h: Record<string, string>, now: number): AgentRecord | null {
  if (!h.id || !isState(h.state)) return null;
  const offerResult = h.offerResult as OfferOutcome | undefined;
  const lastDisposition = h.lastDisposition as Disposition | undefined;
  return {
    id: h.id,
    team: h.team ?? '',
    skills: h.skills ? h.skills.split(',') : [],
    contact: h.contact ?? '',
    state: h.state,
    stateSince: count(h.stateSince),
    breakReason: text(h.breakReason),
    idleSince: ms(h.idleSince),
    callsHandled: count(h.callsHandled),
    callsToday: count(h.callsDay) === Math.floor(now / DAY_MS) ? count(h.callsToday) : 0,
    lastOfferSeq: count(h.lastOfferSeq),
    offerId: text(h.offerId),
    offerCallSid: text(h.offerCallSid),
    offerQueue: text(h.offerQueue),
    offerContactId: text(h.offerContactId),
    offerDeadline: ms(h.offerDeadline),
    offerResult: offerResult && OUTCOMES.includes(offerResult) ? offerResult : null,
    callSid: text(h.callSid),
    callQueue: text(h.callQueue),
    contactId: text(h.contactId),
    talkStartedAt: ms(h.talkStartedAt),
    connectedAt: ms(h.connectedAt),
    holdStartedAt: ms(h.holdStartedAt),
    holdSeconds: count(h.holdMs) / 1000,
    callEndedAt: ms(h.callEndedAt),
    wrapDeadline: ms(h.wrapDeadline),
    lastCallSid: text(h.lastCallSid),
    lastDisposition: lastDisposition && DISPOSITIONS.includes(lastDisposition) ? lastDisposition : null,
    instance: text(h.instance),
    connected: h.connected === '1',
    graceDeadline: ms(h.graceDeadline),
  };
}

export function zeroCounts(): Record<AgentState, number> {
  const out = {} as Record<AgentState, number>;
  for (const s of AGENT_STATES) out[s] = 0;
  return out;
}
