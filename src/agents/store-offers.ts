/**
 * The agent store's offer operations: reserving the best agent for a caller, and every way an offer ends
 * (accepted, rejected, withdrawn, timed out, the bridge failed).
 */
import { invalid } from '../errors.js';

import { checkLimit, checkMs, checkToken, parseJson, parseReply, type StoreBase } from './store-base.js';
import type { AgentStore, OfferRef, Reservation, RoutingStrategy } from './store-types.js';

type Offers = Pick<
  AgentStore,
  'reserve' | 'setOfferCall' | 'acceptOffer' | 'rejectOffer' | 'cancelOffer' | 'expireOffers' | 'bridgeFailed'
>;

const STRATEGIES: readonly RoutingStrategy[] = ['longest_idle', 'round_robin', 'fewest_calls'];

export function agentOffers({ k, clock, scripts, index, releaseKeys }: StoreBase): Offers {
  return {
    async reserve(p) {
      if (!STRATEGIES.includes(p.strategy)) throw invalid('strategy', `must be one of ${STRATEGIES.join(', ')}`);
      p.requiredSkills.forEach((s) => checkToken('requiredSkills', s));
      const r = parseReply(
        await scripts.agentReserve(
          [k.available, k.offerDeadlines, k.rr, k.events, k.agentPrefix, ...index],
          [
            p.offerId,
            p.queue,
            p.callSid,
            p.contactId ?? '',
            p.strategy,
            checkMs('deadline', p.deadline),
            clock.now(),
            JSON.stringify(p.requiredSkills),
            JSON.stringify(p.excludeAgents ?? []),
            p.onlyAgent ?? '',
          ],
        ),
        'agentReserve',
      );
      const res = parseJson<Omit<Reservation, 'events'>>(r.result);
      return res ? { ...res, events: r.events } : null;
    },

    async setOfferCall({ agentId, offerId, callSid, contactId }) {
      await scripts.agentSetOfferCall([k.agent(agentId)], [offerId, callSid, contactId ?? '']);
    },

    async acceptOffer({ agentId, offerId }) {
      const r = parseReply(
        await scripts.agentAccept([k.agent(agentId), k.offerDeadlines, k.events, ...index], [offerId, clock.now()]),
        'agentAccept',
      );
      const res = parseJson<{ callSid: string; queue: string }>(r.result);
      if (!res) throw new Error('agentAccept: no result');
      return { ...res, events: r.events };
    },

    async rejectOffer({ agentId, offerId }) {
      const r = parseReply(await scripts.agentReject(releaseKeys(agentId), [offerId, clock.now()]), 'agentReject');
      return { offer: parseJson<OfferRef>(r.result), events: r.events };
    },

    async cancelOffer({ agentId, offerId, silent }) {
      const r = parseReply(
        await scripts.agentCancelOffer(releaseKeys(agentId), [offerId, silent ? '1' : '0', clock.now()]),
        'agentCancelOffer',
      );
      return { offer: parseJson<OfferRef>(r.result), events: r.events };
    },

    async expireOffers({ now, limit }) {
      const r = parseReply(
        await scripts.agentExpireOffers(
          [k.offerDeadlines, k.events, k.agentPrefix, ...index],
          [checkMs('now', now ?? clock.now()), checkLimit(limit)],
        ),
        'agentExpireOffers',
      );
      return { expired: parseJson<OfferRef[]>(r.result) ?? [], events: r.events };
    },

    async bridgeFailed({ agentId, offerId }) {
      const r = parseReply(await scripts.agentBridgeFailed(releaseKeys(agentId), [offerId, clock.now()]), 'agentBridgeFailed');
      return { events: r.events };
    },
  };
}
