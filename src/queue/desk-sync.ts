/**
 * What a (re)connecting agent desk is told (docs/agent-protocol.md): the welcome, then its current work, so a
 * desk that reconnects (a new tab, a lost connection, another instance) shows the offer, the call (its
 * recording, a transfer in progress) and the wrap-up the agent has.
 */
import { sbError, socketError } from '../errors.js';
import type { ServerMessage } from '../agents/protocol.js';
import type { QueueContext } from './context.js';
import type { OfferKinds } from './offer-kind.js';
import type { Recordings } from './recording.js';
import type { Router } from './router.js';
import type { Transfers } from './transfer.js';

/** The desk's socket is signed in: its presence is recorded; the welcome (who, state, the directory for transfers). */
export async function welcome(ctx: QueueContext, agentId: string, instance: string): Promise<ServerMessage> {
  const { agents, center } = ctx;
  const r = await agents.connected({ agentId, instance });
  ctx.publish(r.events);
  const a = await agents.get(agentId);
  if (!a) return socketError(sbError('not_found', 'token', 'agent is not configured'));
  const cfg = center.agents[agentId];
  const directory = {
    queues: Object.values(center.queues).map((q) => ({ id: q.id, name: q.name ?? q.id })),
    agents: Object.values(center.agents)
      .filter((o) => o.id !== agentId)
      .map((o) => ({ id: o.id, name: o.name, team: o.team })),
  };
  return {
    type: 'welcome',
    agentId,
    name: cfg?.name ?? agentId,
    team: a.team,
    skills: a.skills,
    state: a.state,
    since: a.stateSince,
    instance,
    directory,
  };
}

/** What the current work is read from. */
export interface DeskSyncDeps {
  ctx: QueueContext;
  router: Router;
  transfers: Pick<Transfers, 'get'>;
  kinds: OfferKinds;
  recordings: Pick<Recordings, 'current'>;
}

/** The agent's current work, sent right after the welcome: the open offer, the call (its recording, a transfer in progress), the wrap-up. */
export async function currentWork(d: DeskSyncDeps, agentId: string): Promise<ServerMessage[]> {
  const { ctx, router, transfers, kinds, recordings } = d;
  const { agents, offers } = ctx;
  const a = await agents.get(agentId);
  if (!a) return [];
  const out: ServerMessage[] = [];
  const offer = a.offerId ? await offers.get(a.offerId) : null;
  if (a.state === 'reserved' && offer && a.offerDeadline) {
    out.push(await router.offerMessage(offer, await kinds[offer.kind].caller(offer), a.offerDeadline));
  } else if (a.state === 'on_call' && a.callSid) {
    const status = a.holdStartedAt ? 'on_hold' : a.talkStartedAt ? 'connected' : 'connecting';
    out.push({
      type: 'call',
      callSid: a.callSid,
      queue: a.callQueue ?? '',
      status,
      since: a.holdStartedAt ?? a.talkStartedAt ?? a.stateSince,
      ...(a.talkStartedAt ? { talkStartedAt: a.talkStartedAt } : {}),
    });
    const rec = await recordings.current(a.callSid);
    if (rec && (rec.status === 'in-progress' || rec.status === 'paused'))
      out.push({ type: 'recording', callSid: a.callSid, status: rec.status });
    const t = await transfers.get(a.callSid);
    if (t && t.fromAgentId === agentId && (t.state === 'offering' || t.state === 'dialing' || t.state === 'consulting')) {
      out.push({
        type: 'transfer',
        callSid: t.callSid,
        status: t.state === 'consulting' ? 'consulting' : 'ringing',
        kind: t.kind,
        mode: t.mode,
        to: t.target,
      });
    }
  } else if (a.state === 'wrap_up' && a.wrapDeadline) {
    const callSid = a.callSid ?? a.lastCallSid;
    if (callSid) out.push({ type: 'wrap_up', callSid, queue: a.callQueue ?? '', deadline: a.wrapDeadline });
  }
  return out;
}
