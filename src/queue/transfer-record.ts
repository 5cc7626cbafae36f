/**
 * A transfer's stored record (one JSON value per call in Redis, so any instance can carry it on) and the
 * ways a transfer ends: handed over to the target, undone (warm: back to the agent; cold: back to the
 * queue's front), each told to the transferring agent and counted once. The rules are in transfer.ts.
 */
import type { Clock } from '../clock.js';
import type { CenterConfig } from '../config/callcenter.js';
import type { DomainEvent, TransferResult } from '../events.js';
import type { ServerMessage, TransferStatus, TransferTarget } from '../agents/protocol.js';
import type { AgentStore } from '../agents/store.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Urls } from '../urls.js';
import type { OfferStore } from './offers.js';
import type { TwilioRest } from './twilio-rest.js';

export interface TransferRecord {
  callSid: string;
  queue: string;
  kind: TransferTarget['kind'];
  mode: 'cold' | 'warm';
  target: TransferTarget;
  fromAgentId: string;
  fromOfferId: string;
  fromLegSid: string;
  /** The transferring agent's leg has left the conference. */
  fromGone: boolean;
  conferenceSid: string;
  state: 'offering' | 'dialing' | 'consulting' | 'completed' | 'cancelled' | 'failed';
  targetOfferId?: string;
  targetLegSid?: string;
  startedAt: number;
}

/** What the transfer modules share (the queue service's context provides it). */
export interface TransferDeps {
  center: CenterConfig;
  urls: Urls;
  clock: Clock;
  redis: RedisClient;
  keys: Keys;
  agents: AgentStore;
  offers: OfferStore;
  rest: TwilioRest;
  /** The number legs we dial show (context.ts). */
  callerId(calledNumber: string): string;
  log: { warn(o: object, m: string): void; info(o: object, m: string): void };
  publish(events: DomainEvent[]): void;
  send(agentId: string, msg: ServerMessage): Promise<void>;
  pushState(agentId: string): Promise<void>;
}

const TTL_SECONDS = 6 * 3600;
const ACTIVE = new Set<TransferRecord['state']>(['offering', 'dialing', 'consulting']);

/** Still under way: offering, dialing or consulting. */
export const isActive = (t: TransferRecord): boolean => ACTIVE.has(t.state);

export async function loadTransfer(d: TransferDeps, callSid: string): Promise<TransferRecord | null> {
  const raw = await d.redis.get(d.keys.offers.transfer(callSid));
  return raw ? (JSON.parse(raw) as TransferRecord) : null;
}

export async function saveTransfer(d: TransferDeps, t: TransferRecord): Promise<void> {
  await d.redis.set(d.keys.offers.transfer(t.callSid), JSON.stringify(t), 'EX', TTL_SECONDS);
}

/** Tell the transferring agent's desk how the transfer is going. */
export function tell(d: TransferDeps, t: TransferRecord, status: TransferStatus, reason?: string): Promise<void> {
  return d.send(t.fromAgentId, { type: 'transfer', callSid: t.callSid, status, kind: t.kind, mode: t.mode, ...(reason ? { reason } : {}) });
}

/** The target named in the transfer event: a queue or an agent id; an outside number is never named. */
function transferTarget(t: TransferTarget): { target?: string } {
  return t.kind === 'queue' ? { target: t.queue } : t.kind === 'agent' ? { target: t.agentId } : {};
}

/** The transfer's result: stored, counted (the `transfer` domain event) and told to the agent. */
export async function finish(d: TransferDeps, t: TransferRecord, result: TransferResult): Promise<void> {
  t.state = result;
  await saveTransfer(d, t);
  d.publish([
    {
      type: 'transfer',
      at: d.clock.now(),
      callSid: t.callSid,
      queue: t.queue,
      kind: t.kind,
      mode: t.mode,
      result,
      fromAgentId: t.fromAgentId,
      ...transferTarget(t.target),
    },
  ]);
  await tell(d, t, result);
}

/** The transferring agent leaves the conference (cold now, or warm on completion). */
export async function leave(d: TransferDeps, t: TransferRecord): Promise<void> {
  if (t.fromGone) return;
  t.fromGone = true;
  await saveTransfer(d, t);
  await d.rest
    .removeParticipant(t.conferenceSid, t.fromLegSid)
    .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not remove the transferring agent'));
}

/** The target is on the line and the caller is theirs. */
export async function handOver(d: TransferDeps, t: TransferRecord): Promise<void> {
  if (t.targetLegSid) await d.rest.updateParticipant(t.conferenceSid, t.targetLegSid, { endConferenceOnExit: true }).catch(() => undefined);
  await d.rest
    .updateParticipant(t.conferenceSid, t.callSid, { hold: false })
    .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not resume the caller'));
  await finish(d, t, 'completed');
  await leave(d, t);
}

/** Undo the hold of a warm transfer that did not happen (the agent is still on the call). */
export async function resume(d: TransferDeps, t: TransferRecord): Promise<void> {
  const { rest, agents, offers } = d;
  await rest
    .updateParticipant(t.conferenceSid, t.callSid, { hold: false })
    .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not resume the caller'));
  if (!t.fromGone) {
    await rest.updateParticipant(t.conferenceSid, t.fromLegSid, { endConferenceOnExit: true }).catch(() => undefined);
    d.publish(
      (await agents.hold({ agentId: t.fromAgentId, callSid: t.callSid, on: false }).catch(() => ({ events: [] as DomainEvent[] }))).events,
    );
    const from = await offers.get(t.fromOfferId);
    if (from) await offers.pointCall(from);
    await d.send(t.fromAgentId, { type: 'call', callSid: t.callSid, queue: t.queue, status: 'connected', since: d.clock.now() });
  }
}

/** The caller goes back to the front of the queue they came from (a cold transfer nobody took). */
async function requeue(d: TransferDeps, t: TransferRecord): Promise<void> {
  await d.rest
    .redirect(t.callSid, d.urls.transferQueue(t.queue, t.queue))
    .catch((err: unknown) => d.log.info({ err: (err as Error).message }, 'could not requeue the caller (the call may have ended)'));
}

/** A transfer that did not happen: warm, back to the agent; cold, back to the queue's front. */
export async function undo(d: TransferDeps, t: TransferRecord, result: 'cancelled' | 'failed', reason: string): Promise<void> {
  if (!isActive(t)) return;
  await finish(d, t, result);
  if (t.fromGone) await requeue(d, t);
  else await resume(d, t);
  d.log.info({ callSid: t.callSid, kind: t.kind, mode: t.mode, reason }, `transfer ${result}`);
}
