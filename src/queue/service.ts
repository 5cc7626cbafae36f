/**
 * The queue side of a call, as one service for the webhooks, the agent channel and the API. A thin facade:
 * each concern lives in its own module of src/queue, all sharing one context (context.ts):
 *   caller.ts      the caller's TwiML: enqueue or overflow, hold announcements, keys, QueueResults
 *   router.ts      offering waiting callers to free agents
 *   bridge.ts      the agent's leg of an accepted offer (offer kind `waiting`); dequeue.ts, taking the caller
 *                  out of Twilio's queue
 *   callbacks.ts   calling back a caller who kept their place (offer kind `callback`)
 *   transfer.ts    transfers of connected calls (transfer-start.ts, transfer-record.ts); transfer-offer.ts the
 *                  offer kind `transfer`
 *   monitor.ts     supervisor listen / coach / barge
 *   commands.ts    what an agent's desk asks; desk-sync.ts, what a (re)connecting desk is told
 *   sweeper.ts     timeouts, recovery of work left by a dead instance; ghosts.ts, callers whose hangup was lost
 * State changes go through the queue and agent stores (one Lua script each).
 */
import type { AgentChannel, AgentCommands } from '../agents/channel.js';
import type { MonitorMode } from '../events.js';
import { createBridge } from './bridge.js';
import { createCallbacks } from './callbacks.js';
import { createCallerFlow, type CallerFlow } from './caller.js';
import { createAgentCommands } from './commands.js';
import { createContext, type QueueServiceDeps } from './context.js';
import { createGhosts } from './ghosts.js';
import { createMonitor, type MonitorRequest } from './monitor.js';
import { createRecordings, type Recordings } from './recording.js';
import type { OfferKinds } from './offer-kind.js';
import { createRouter } from './router.js';
import { createSweeper } from './sweeper.js';
import { createTransferOffers } from './transfer-offer.js';
import { createTransfers, type Transfers } from './transfer.js';

export { conferenceName, type QueueServiceDeps } from './context.js';
export type { EnterArgs } from './caller.js';
export type { MonitorRequest } from './monitor.js';
export type { RecordingCallback, RecordingControl } from './recording.js';

/** The caller's side (caller.ts) and the agent's commands (commands.ts), plus what the routes and the app need. */
export interface QueueService extends AgentCommands, CallerFlow {
  /** The dequeued caller requested the connect URL of `offerId`. */
  dequeued(offerId: string): Promise<void>;
  agentLegStatus(p: { offerId: string; callSid: string; status: string }): Promise<void>;
  callbackLegTwiml(p: { queue: string; offerId: string; language: string }): Promise<string>;
  callbackLegStatus(p: { queue: string; offerId: string; callSid: string; status: string }): Promise<void>;
  setChannel(channel: AgentChannel): void;
  conferenceEvent(p: { friendlyName: string; conferenceSid: string; event: string }): Promise<void>;
  /** Status of an outside number dialed in by a transfer. */
  transferLegStatus(p: { callSid: string; legSid: string; status: string }): Promise<void>;
  /** Supervisor listen / coach / barge / stop on a live call. */
  monitor(r: MonitorRequest): Promise<{ legSid: string | null; queue: string }>;
  monitorLegStatus(p: { callSid: string; legSid: string; status: string }): Promise<void>;
  /** The supervisor lines on a call now: where each is dialed and its mode. */
  monitors(callSid: string): Promise<{ to: string; mode: MonitorMode }[]>;
  /** Call recording: Twilio's recording status callbacks, and pause / resume (recording.ts). */
  recordings: Recordings;
  transfers: Transfers;
  route(queue: string): Promise<number>;
  sweep(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** Build the queue service. Call `start()` to run the sweeper. */
export function createQueueService(d: QueueServiceDeps): QueueService {
  let stopped = false;
  const ctx = createContext(d, () => stopped);
  const kinds = {} as OfferKinds; // filled below, once every kind's module exists
  const router = createRouter(ctx);
  const ghosts = createGhosts(ctx, router);
  const transfers = createTransfers(ctx);
  const bridge = createBridge(ctx, router, ghosts, transfers, kinds);
  const callbacks = createCallbacks(ctx, bridge);
  Object.assign(kinds, {
    waiting: bridge.waiting,
    callback: callbacks.callback,
    transfer: createTransferOffers(ctx, transfers, bridge),
  } satisfies OfferKinds);
  const caller = createCallerFlow(ctx, router, (offerId, queueSid) =>
    ctx.detach(bridge.queueSidArrived(offerId, queueSid), 'dequeue after the QueueSid arrived failed'),
  );
  const recordings = createRecordings(ctx, d.recordings);
  const commands = createAgentCommands(ctx, router, transfers, kinds, recordings);
  const monitor = createMonitor(ctx);
  const sweeper = createSweeper(ctx, router, bridge, ghosts, kinds);

  /** A conference status callback: only the ConferenceSid is taken (a second source, see bridge.ts). */
  async function conferenceEvent(p: { friendlyName: string; conferenceSid: string; event: string }): Promise<void> {
    const m = /^sb-(CA[0-9a-fA-F]{32})$/.exec(p.friendlyName);
    if (!m || (p.event !== 'conference-start' && p.event !== 'participant-join')) return;
    const offer = await d.offers.forCall(m[1]!);
    if (offer && offer.conferenceSid !== p.conferenceSid) await d.offers.save({ ...offer, conferenceSid: p.conferenceSid });
  }

  return {
    ...caller,
    ...commands,
    conferenceEvent,
    recordings,
    transfers,
    async transferLegStatus(p) {
      await transfers.targetLegStatus(p.callSid, p.legSid, p.status);
    },
    ...monitor,
    setChannel(channel) {
      ctx.channel = channel;
    },
    dequeued: bridge.dequeued,
    agentLegStatus: bridge.agentLegStatus,
    callbackLegTwiml: callbacks.callbackLegTwiml,
    callbackLegStatus: callbacks.callbackLegStatus,
    route: router.route,
    sweep: sweeper.sweep,
    start() {
      stopped = false;
      sweeper.start(d.sweepEveryMs ?? 1000);
    },
    async stop() {
      stopped = true;
      sweeper.stop();
      await router.settle();
    },
  };
}
