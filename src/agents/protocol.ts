/**
 * The agent WebSocket protocol: every message is a JSON object with a `type`. Client messages are
 * validated with these schemas; a bad message gets `{type:'error', code, field, message}`.
 * Written down for other clients in docs/agent-protocol.md.
 */
import { z } from 'zod';
import { fromZod, socketError, type SocketError } from '../errors.js';

const offerId = z.string().regex(/^of_[A-Za-z0-9_-]{4,64}$/, 'an offer id from an offer message');
const callSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'CA followed by 32 hex digits');
const ref = z.string().max(64).optional();

export const clientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), token: z.string().min(1).max(512), ref }).strict(),
  z
    .object({
      type: z.literal('set_state'),
      state: z.enum(['available', 'break', 'offline']),
      reason: z
        .string()
        .regex(/^[a-z0-9_ -]{1,40}$/i, 'letters, digits, spaces, _ or - (max 40)')
        .optional(),
      ref,
    })
    .strict(),
  z.object({ type: z.literal('accept'), offerId, ref }).strict(),
  z.object({ type: z.literal('reject'), offerId, ref }).strict(),
  z.object({ type: z.literal('hold'), callSid, on: z.boolean(), ref }).strict(),
  z
    .object({
      type: z.literal('wrap_up'),
      callSid,
      disposition: z.enum(['resolved', 'not_resolved', 'escalated']),
      code: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{0,40}$/, 'letters, digits, _ . - (max 40)')
        .default(''),
      ref,
    })
    .strict(),
  z.object({ type: z.literal('hangup'), callSid, ref }).strict(),
  /** Pause or resume the call's recording (the agent's current call when callSid is left out). */
  z.object({ type: z.literal('recording'), action: z.enum(['pause', 'resume']), callSid: callSid.optional(), ref }).strict(),
  z
    .object({
      type: z.literal('transfer'),
      callSid,
      to: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('queue'), queue: z.string().min(1).max(63) }).strict(),
        z.object({ kind: z.literal('agent'), agentId: z.string().min(1).max(63) }).strict(),
        z.object({ kind: z.literal('external'), number: z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number') }).strict(),
      ]),
      warm: z.boolean().default(false),
      ref,
    })
    .strict(),
  z.object({ type: z.literal('transfer_complete'), callSid, ref }).strict(),
  z.object({ type: z.literal('transfer_cancel'), callSid, ref }).strict(),
  z.object({ type: z.literal('ping'), ref }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessage>;

export interface OfferMessage {
  type: 'offer';
  offerId: string;
  callSid: string;
  queue: string;
  queueName: string;
  waitSeconds: number;
  ivrPath: string[];
  language: string;
  /** Earlier calls from the same caller within the repeat window. */
  repeatCount: number;
  callback: boolean;
  deadline: number;
  /** Set when another agent is transferring a connected call to this agent. */
  transferFrom?: string;
}

export type TransferTarget = { kind: 'queue'; queue: string } | { kind: 'agent'; agentId: string } | { kind: 'external'; number: string };
/** Progress of a transfer, sent to the transferring agent. */
export type TransferStatus = 'ringing' | 'consulting' | 'completed' | 'cancelled' | 'failed';

/** What an agent may transfer to, from the call-center file: every queue and every other agent. */
export interface Directory {
  queues: { id: string; name: string }[];
  agents: { id: string; name: string; team: string }[];
}

export type ServerMessage =
  | {
      type: 'welcome';
      agentId: string;
      name: string;
      team: string;
      skills: string[];
      state: string;
      since: number;
      instance: string;
      directory: Directory;
    }
  | { type: 'state'; state: string; reason?: string; since: number }
  | OfferMessage
  | { type: 'offer_cancelled'; offerId: string; reason: 'timeout' | 'withdrawn' | 'taken' }
  | {
      type: 'call';
      callSid: string;
      queue: string;
      status: 'connecting' | 'connected' | 'on_hold' | 'ended' | 'failed';
      since: number;
      talkStartedAt?: number;
    }
  | { type: 'wrap_up'; callSid: string; queue: string; deadline: number }
  /** The call's recording started, was paused or resumed (by you or a supervisor), or ended. */
  | { type: 'recording'; callSid: string; status: 'in-progress' | 'paused' | 'ended'; by?: 'agent' | 'supervisor' }
  | {
      type: 'transfer';
      callSid: string;
      status: TransferStatus;
      kind: TransferTarget['kind'];
      mode: 'cold' | 'warm';
      reason?: string;
      to?: TransferTarget;
    }
  | { type: 'ack'; ref?: string; for: string }
  | SocketError
  | { type: 'reconnect'; reason: string; afterMs: number }
  | { type: 'pong'; ref?: string; now: number };

/** Turn a validation failure into the error message the client gets. */
export function protocolError(err: z.ZodError, ref?: string): ServerMessage {
  return socketError(fromZod(err, 'type'), ref);
}
