/**
 * The agent store's presence operations: the agent record from the configuration, signing in and out,
 * breaks, and the agent's socket (connected, disconnected, sign-out after the grace period).
 */
import { invalid } from '../errors.js';
import type { AgentState } from '../events.js';

import { checkLimit, checkMs, checkToken, parseJson, parseReply, type StoreBase } from './store-base.js';
import { isState } from './store-types.js';
import type { AgentStore, OfferRef, SetStateResult, SettableState } from './store-types.js';

type Presence = Pick<AgentStore, 'upsertAgent' | 'setState' | 'connected' | 'disconnected' | 'expireGrace'>;

const SETTABLE: readonly SettableState[] = ['available', 'break', 'offline'];

export function agentPresence({ k, clock, scripts, index, releaseKeys }: StoreBase): Presence {
  return {
    async upsertAgent(a) {
      checkToken('id', a.id);
      a.skills.forEach((s) => checkToken('skills', s));
      const r = await scripts.agentUpsert(
        [k.agent(a.id), k.all, ...index, k.skills],
        [a.id, a.team, a.skills.join(','), a.contact, clock.now()],
      );
      return { created: r === 'created' };
    },

    async setState({ agentId, to, reason, instance }) {
      if (!SETTABLE.includes(to)) throw invalid('to', `must be one of ${SETTABLE.join(', ')}`);
      const r = parseReply(
        await scripts.agentSetState(releaseKeys(agentId), [to, reason ?? '', instance ?? '', clock.now()]),
        'agentSetState',
      );
      const res = parseJson<Omit<SetStateResult, 'events'>>(r.result);
      if (!res) throw new Error('agentSetState: no result');
      return { ...res, releasedOffer: res.releasedOffer ?? null, events: r.events };
    },

    async connected({ agentId, instance }) {
      const state = await scripts.agentConnected([k.agent(agentId), k.graceDeadlines], [agentId, instance]);
      if (!isState(typeof state === 'string' ? state : undefined)) throw new Error('agentConnected: bad reply');
      return { state: state as AgentState, events: [] };
    },

    async disconnected({ agentId, instance, graceMs }) {
      const r = await scripts.agentDisconnected(
        [k.agent(agentId), k.graceDeadlines],
        [agentId, instance, checkMs('graceMs', Math.max(0, graceMs)), clock.now()],
      );
      return { graceDeadline: typeof r === 'number' ? r : null, events: [] };
    },

    async expireGrace({ now, limit }) {
      const r = parseReply(
        await scripts.agentExpireGrace(
          [k.graceDeadlines, k.available, k.offerDeadlines, k.wrapDeadlines, k.events, k.agentPrefix, ...index],
          [checkMs('now', now ?? clock.now()), checkLimit(limit)],
        ),
        'agentExpireGrace',
      );
      const res = parseJson<{ signedOut: string[]; released: OfferRef[] }>(r.result);
      return { signedOut: res?.signedOut ?? [], released: res?.released ?? [], events: r.events };
    },
  };
}
