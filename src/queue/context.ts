/**
 * What every part of the queue service shares: its dependencies, the queue configuration lookups, and
 * the small helpers each part needs (tell an agent, publish events, start work nobody awaits). Built once
 * by the facade (service.ts) and handed to each part.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { serviceLevelSecondsFor, type CenterConfig, type QueueConfig } from '../config/callcenter.js';
import type { DomainEvent, EventBus } from '../events.js';
import { sbError } from '../errors.js';
import type { AgentChannel } from '../agents/channel.js';
import type { ServerMessage } from '../agents/protocol.js';
import type { AgentStore } from '../agents/store.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Urls } from '../urls.js';
import type { ContactStore } from './contacts.js';
import type { OfferRecord, OfferStore } from './offers.js';
import type { RecordingStore } from './recording-store.js';
import type { QueueStore } from './store.js';
import type { TwilioRest } from './twilio-rest.js';

export interface QueueServiceDeps {
  center: CenterConfig;
  urls: Urls;
  clock: Clock;
  bus: EventBus;
  queues: QueueStore;
  agents: AgentStore;
  contacts: ContactStore;
  offers: OfferStore;
  rest: TwilioRest;
  /** The calls' conference recordings (recording-store.ts). */
  recordings: RecordingStore;
  redis: RedisClient;
  keys: Keys;
  instance: string;
  /** Set after the channel is attached (the channel needs the service as its command handler). */
  channel?: AgentChannel;
  log: { error(o: object, m: string): void; warn(o: object, m: string): void; info(o: object, m: string): void };
  /** How often the sweeper runs (offer/wrap-up/grace timeouts, re-routing). Default 1000 ms. */
  sweepEveryMs?: number;
  /** Disconnected agents are signed out after this long. Default 30 s. */
  graceMs?: number;
  /** Caller id used when dialing agents and callbacks when the call's own number is unknown. */
  defaultCallerId?: string;
}

/**
 * The caller id of last resort for legs we dial (agents, callbacks, transfer targets, supervisors) when
 * neither the called number nor a configured default is known.
 */
export const FALLBACK_CALLER_ID = '+10000000000';

/** The conference of a call: `sb-<caller CallSid>`. */
export const conferenceName = (callSid: string): string => `sb-${callSid}`;
export const newOfferId = (): string => 'of_' + randomBytes(9).toString('base64url');

export interface QueueContext extends Omit<QueueServiceDeps, 'sweepEveryMs'> {
  /** The queue's configuration; not_found when there is no such queue. */
  qc(queue: string): QueueConfig;
  /** The queue's service-level threshold in seconds. */
  sl(queue: string): number;
  /** Abandons within this many seconds are short abandons. */
  short: number;
  /** The number legs we dial show: the call's own number, else the configured default. */
  callerId(calledNumber: string): string;
  /** Tell an agent (wherever connected); a failure is logged, never thrown. */
  send(agentId: string, msg: ServerMessage): Promise<void>;
  publish(events: DomainEvent[]): void;
  /** Start work nobody awaits (routing after a change); a failure (Redis away) is logged, never unhandled. */
  detach(p: Promise<unknown>, what: string): void;
  /** Send the agent its current state. */
  pushState(agentId: string): Promise<void>;
  /**
   * Send the agent the state a change just left it in, from the change's own `agent.state` event (no read);
   * its current state when the change moved it nowhere.
   */
  pushStateAfter(agentId: string, events: readonly DomainEvent[]): Promise<void>;
  /** Hang up a leg we do not want (a duplicate, or one of a failed bridge); it may have ended already. */
  hangupQuietly(callSid: string): Promise<void>;
  /** Change some fields of a stored offer (re-read, so fields saved meanwhile by another step are kept). */
  updateOffer(offerId: string, fields: Partial<OfferRecord>): Promise<void>;
  /** Keep a finished call's handle time for the queue's wait estimates. */
  recordHandleTime(queue: string, handleSeconds: number): Promise<void>;
  /** True once the service is stopping: loops end early. */
  stopped(): boolean;
}

/** Build the shared context. `isStopped` reads the facade's stop flag. */
export function createContext(d: QueueServiceDeps, isStopped: () => boolean): QueueContext {
  const ctx: QueueContext = {
    ...d,
    qc(queue) {
      const q = d.center.queues[queue];
      if (!q) throw sbError('not_found', 'queue', `no queue ${queue}`);
      return q;
    },
    sl: (queue) => serviceLevelSecondsFor(d.center, queue),
    short: d.center.thresholds.shortAbandonSeconds,
    callerId: (calledNumber) => calledNumber || d.defaultCallerId || FALLBACK_CALLER_ID,
    async send(agentId, msg) {
      try {
        await ctx.channel?.send(agentId, msg);
      } catch (err) {
        d.log.warn({ err, agentId }, 'could not deliver an agent message');
      }
    },
    publish: (events) => d.bus.publish(events),
    detach(p, what) {
      p.catch((err: unknown) => d.log.warn({ err: (err as Error).message }, what));
    },
    async pushState(agentId) {
      const a = await d.agents.get(agentId);
      if (a)
        await ctx.send(agentId, {
          type: 'state',
          state: a.state,
          since: a.stateSince,
          ...(a.breakReason ? { reason: a.breakReason } : {}),
        });
    },
    async pushStateAfter(agentId, events) {
      let moved: Extract<DomainEvent, { type: 'agent.state' }> | undefined;
      for (const e of events) if (e.type === 'agent.state' && e.agentId === agentId) moved = e;
      if (!moved) return ctx.pushState(agentId);
      // The hash's breakReason is set by a move to break with a reason, and cleared by every other move.
      await ctx.send(agentId, {
        type: 'state',
        state: moved.to,
        since: moved.at,
        ...(moved.to === 'break' && moved.reason ? { reason: moved.reason } : {}),
      });
    },
    async hangupQuietly(callSid) {
      await d.rest.hangup(callSid).catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not hang up a leg'));
    },
    async updateOffer(offerId, fields) {
      const cur = await d.offers.get(offerId);
      if (cur) await d.offers.save({ ...cur, ...fields });
    },
    async recordHandleTime(queue, handleSeconds) {
      if (d.center.queues[queue] && handleSeconds > 0) await d.queues.pushHandleTime(queue, handleSeconds);
    },
    stopped: isStopped,
  };
  return ctx;
}
