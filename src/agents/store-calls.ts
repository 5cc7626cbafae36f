/**
 * The agent store's call operations: the bridged call, hold, its end, and wrap-up (by the agent or at its
 * deadline).
 */
import { invalid } from '../errors.js';
import { DISPOSITIONS, type EventOf } from '../events.js';

import { checkLimit, checkMs, parseJson, parseReply, type StoreBase } from './store-base.js';
import type { AgentStore, WrapUpDone } from './store-types.js';

type Calls = Pick<AgentStore, 'callConnected' | 'hold' | 'endCall' | 'wrapUp' | 'expireWrapUps'>;

export function agentCalls({ k, clock, scripts, index }: StoreBase): Calls {
  const wrapKeys = (agentId: string) => [k.agent(agentId), k.available, k.wrapDeadlines, k.events, ...index] as const;
  return {
    async callConnected({ agentId, callSid, contactId }) {
      const r = await scripts.agentCallConnected([k.agent(agentId)], [callSid, contactId ?? '', clock.now()]);
      return { first: r === 'connected', events: [] };
    },

    async hold({ agentId, callSid, on }) {
      const r = parseReply(await scripts.agentHold([k.agent(agentId), k.events], [callSid, on ? '1' : '0', clock.now()]), 'agentHold');
      const res = parseJson<{ onHold: boolean; holdMs: number }>(r.result);
      return { onHold: res?.onHold ?? false, holdSeconds: (res?.holdMs ?? 0) / 1000, events: r.events };
    },

    async endCall({ agentId, callSid, wrapUpSeconds }) {
      if (!Number.isFinite(wrapUpSeconds) || wrapUpSeconds < 0) throw invalid('wrapUpSeconds', 'must be 0 or more');
      const r = parseReply(await scripts.agentEndCall(wrapKeys(agentId), [callSid, wrapUpSeconds, clock.now()]), 'agentEndCall');
      const res = parseJson<{ wrapDeadline?: number | null }>(r.result);
      return { wrapDeadline: res?.wrapDeadline ?? null, events: r.events };
    },

    async wrapUp({ agentId, callSid, disposition, code, auto }) {
      if (!DISPOSITIONS.includes(disposition)) throw invalid('disposition', `must be one of ${DISPOSITIONS.join(', ')}`);
      const r = parseReply(
        await scripts.agentWrapUp(wrapKeys(agentId), [callSid, disposition, code, auto ? '1' : '0', clock.now()]),
        'agentWrapUp',
      );
      const handled = r.events.find((e): e is EventOf<'call.handled'> => e.type === 'call.handled') ?? null;
      return { handled, events: r.events };
    },

    async expireWrapUps({ now, limit }) {
      const r = parseReply(
        await scripts.agentExpireWrapUps(
          [k.wrapDeadlines, k.available, k.events, k.agentPrefix, ...index],
          [checkMs('now', now ?? clock.now()), checkLimit(limit)],
        ),
        'agentExpireWrapUps',
      );
      return { done: parseJson<WrapUpDone[]>(r.result) ?? [], events: r.events };
    },
  };
}
