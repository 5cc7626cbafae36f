/**
 * Supervisor monitoring of a connected call: listen (muted), coach (heard only by the agent) or barge
 * (heard by everyone), by dialing the supervisor into the call's conference as a participant that never
 * starts or ends it; `stop` removes them. The supervisor lines on a call are kept in Redis (contact → leg
 * and mode) so any instance can change or stop them.
 */
import { callHasEnded } from '../call-status.js';
import type { MonitorMode } from '../events.js';
import { sbError } from '../errors.js';
import type { QueueContext } from './context.js';

/** Supervisor lines are forgotten after this long (a call never lasts as long). */
const TTL_SECONDS = 6 * 3600;

export interface MonitorRequest {
  callSid: string;
  mode: MonitorMode;
  /** Where the supervisor listens: client:name, sip: or +E164. */
  to: string;
  /** Who asked (for the log). */
  by: string;
}

export interface Monitor {
  /** Supervisor listen / coach / barge / stop on a live call. */
  monitor(r: MonitorRequest): Promise<{ legSid: string | null; queue: string }>;
  /** A status callback of a supervisor's leg. */
  monitorLegStatus(p: { callSid: string; legSid: string; status: string }): Promise<void>;
  /** The supervisor lines on a call now: where each is dialed and its mode. */
  monitors(callSid: string): Promise<{ to: string; mode: MonitorMode }[]>;
}

/** Build supervisor monitoring. */
export function createMonitor(ctx: QueueContext): Monitor {
  const { urls, clock, redis, agents, offers, rest } = ctx;
  const k = ctx.keys.offers;

  async function monitor(r: MonitorRequest): Promise<{ legSid: string | null; queue: string }> {
    const offer = await offers.forCall(r.callSid);
    if (!offer?.conferenceSid || !offer.agentLegSid) throw sbError('not_found', 'callSid', 'no connected call with this CallSid');
    const a = await agents.get(offer.agentId);
    if (a?.state !== 'on_call' || a.callSid !== r.callSid) throw sbError('not_found', 'callSid', 'the call is not connected to an agent');
    const key = k.monitors(r.callSid);
    const have = await redis.hget(key, r.to);
    const legSid = have ? (JSON.parse(have) as { legSid: string }).legSid : null;
    // listen: muted; coach: heard only by the agent; barge: heard by everyone.
    const settings = {
      muted: r.mode === 'listen',
      coaching: r.mode === 'coach',
      ...(r.mode === 'coach' ? { callSidToCoach: offer.agentLegSid } : {}),
    };
    let leg = legSid;
    if (r.mode === 'stop') {
      if (legSid) await rest.removeParticipant(offer.conferenceSid, legSid).catch(() => undefined);
      await redis.hdel(key, r.to);
      leg = null;
    } else if (legSid) {
      await rest.updateParticipant(offer.conferenceSid, legSid, settings);
    } else {
      const added = await rest.addParticipant(offer.conferenceSid, {
        from: ctx.callerId(offer.calledNumber),
        to: r.to,
        label: 'supervisor',
        statusCallback: urls.monitorStatus(r.callSid),
        startConferenceOnEnter: false,
        endConferenceOnExit: false,
        timeoutSeconds: 20,
        ...settings,
      });
      leg = added.callSid;
    }
    if (leg) {
      await redis.hset(key, r.to, JSON.stringify({ legSid: leg, mode: r.mode }));
      await redis.expire(key, TTL_SECONDS);
    }
    ctx.publish([{ type: 'supervisor.monitor', at: clock.now(), callSid: r.callSid, queue: offer.queue, mode: r.mode }]);
    // Logged without the supervisor's number (privacy): who, which call, what.
    ctx.log.info({ supervisor: r.by, callSid: r.callSid, queue: offer.queue, mode: r.mode, agentId: offer.agentId }, 'supervisor monitor');
    return { legSid: leg, queue: offer.queue };
  }

  async function monitors(callSid: string): Promise<{ to: string; mode: MonitorMode }[]> {
    const all = await redis.hgetall(k.monitors(callSid));
    return Object.entries(all).map(([to, v]) => ({ to, mode: (JSON.parse(v) as { mode: MonitorMode }).mode }));
  }

  /** A supervisor's leg ended: forget it. */
  async function monitorLegStatus(p: { callSid: string; legSid: string; status: string }): Promise<void> {
    if (!callHasEnded(p.status)) return;
    const key = k.monitors(p.callSid);
    const all = await redis.hgetall(key);
    for (const [to, v] of Object.entries(all)) if ((JSON.parse(v) as { legSid: string }).legSid === p.legSid) await redis.hdel(key, to);
  }

  return { monitor, monitorLegStatus, monitors };
}
