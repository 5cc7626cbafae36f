/**
 * What an offer is for decides what its agent's leg means. Each kind has one handler: `waiting` (a caller
 * in the queue: bridge.ts), `callback` (a caller holding their place for a call back: callbacks.ts),
 * `transfer` (a connected call handed over by another agent: transfer-offer.ts). The shared steps (offer,
 * accept, the leg's first-status claim) call the handler of the offer's kind instead of branching on it.
 */
import type { ServerMessage } from '../agents/protocol.js';
import type { OfferRecord } from './offers.js';
import type { CallerInfo } from './store.js';

export interface LegStatus {
  /** The leg's CallSid. */
  callSid: string;
  /** Its CallStatus. */
  status: string;
}

export interface OfferKind {
  /** The agent accepted the offer (already recorded): get their leg dialed; the reply for the agent. */
  accept(offer: OfferRecord, agentId: string): Promise<ServerMessage>;
  /** A status of the offer's agent leg (the first leg Twilio told us about). */
  agentLeg(offer: OfferRecord, p: LegStatus): Promise<void>;
  /** The offer ended without an answer (rejected, timed out): the call goes back where it came from. */
  unanswered(offer: OfferRecord, reason: 'rejected' | 'offer timeout'): Promise<void>;
  /** What the offer shows of a waiting caller (their wait, IVR path, language); null for none. */
  caller(offer: OfferRecord): Promise<CallerInfo | null>;
  /** A bridge left half done by a stopped instance is given back by the sweep (the caller still waits). */
  recoverable: boolean;
}

export type OfferKinds = Record<OfferRecord['kind'], OfferKind>;
