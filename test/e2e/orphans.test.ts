/**
 * Work an instance leaves half done when it dies, in virtual time. The dying instance is played by calling
 * the same store functions it would have called before it stopped (no mock: the state in Redis is exactly
 * what a killed process leaves); the surviving app's sweep must give it back.
 *  - The router claimed a caller and died before reserving an agent: nobody's offer deadline covers the
 *    claim, so without recovery the caller is never offered again.
 *  - The agent accepted on an instance that died before dialling the agent's leg: the agent is on_call with
 *    no connected call and the caller is 'bridging', both for ever without recovery.
 *  - The agent's leg answered and the instance that handled the answer died before the dequeue: the agent
 *    waits in the conference and the caller in the queue; the survivor must finish that bridge.
 *  - That instance died after Twilio took the caller out of the queue, before it counted the answer: the
 *    caller talks to the agent, who is still 'connecting'; the survivor must count the call and connect it.
 * Runs in both vitest projects (standalone and cluster).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GatherContext } from '../../src/sim/twilio/index.js';
import { createTwilioRest } from '../../src/queue/twilio-rest.js';
import { createOfferStore } from '../../src/queue/offers.js';
import { createKeys } from '../../src/store/keys.js';
import { ACCOUNT_SID, AUTH_TOKEN } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const caller = {
  patienceMs: 3_600_000,
  gather: (ctx: GatherContext) => {
    const h = ctx.heard.join(' ');
    if (h.includes('For English')) return { digits: '1' };
    if (h.includes('technical support, press 2')) return { digits: '2' };
    return null;
  },
};

/**
 * A caller waiting, offered to alice, and the part of the bridge an instance did before it died: the accept,
 * the caller marked bridging, the agent's leg dialled into the caller's conference over REST.
 */
async function legDialledByDeadInstance(st: Stack, from: string) {
  st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
  const call = st.emu.placeCall({ from, to: NUMBER, behaviour: caller });
  await st.emu.run(st.clock.sleep(40_000));
  const alice = await st.agent('alice-demo-token');
  alice.send({ type: 'set_state', state: 'available' });
  const first = await st.until(alice.next('offer'));
  expect(first.callSid).toBe(call.sid);
  const offerId = String(first.offerId);
  await st.app.sb.agents.acceptOffer({ agentId: 'alice', offerId });
  await st.app.sb.queues.markBridging({ queue: 'support', callSid: call.sid, offerId });
  const rest = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: st.emu.restBaseUrl, clock: st.clock });
  const leg = await rest.addParticipant(`sb-${call.sid}`, {
    from: NUMBER,
    to: 'client:alice',
    label: 'agent',
    statusCallback: st.app.sb.urls.agentStatus(offerId),
    startConferenceOnEnter: true,
    endConferenceOnExit: true,
    timeoutSeconds: 20,
  });
  return { call, alice, offerId, rest, leg };
}

describe('work orphaned by a dead instance', () => {
  it('a caller claimed by a router that died before reserving an agent is released and offered', async () => {
    s = await makeStack();
    const st = s;
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const call = st.emu.placeCall({ from: '+15554440001', to: NUMBER, behaviour: caller });
    await st.emu.run(st.clock.sleep(40_000));
    expect((await st.app.sb.queues.position('support', call.sid))?.state).toBe('waiting');

    // The dead router's last step: the caller is claimed for an offer no agent holds.
    const claimed = await st.app.sb.queues.claimNext({
      queue: 'support',
      offerId: 'of_deadrouter01',
      agentId: 'pending',
      deadline: st.clock.now() + 15_000,
    });
    expect(claimed?.callSid).toBe(call.sid);
    expect((await st.app.sb.queues.position('support', call.sid))?.state).toBe('offered');

    const alice = await st.agent('alice-demo-token');
    const since = st.clock.now();
    alice.send({ type: 'set_state', state: 'available', ref: 's1' });
    await st.until(alice.next('ack', (m) => m.ref === 's1'));
    // Released after the claim's deadline (15 s) plus the grace (10 s), at the next orphan scan (5 s).
    const offer = await st.until(alice.next('offer'), { maxMs: 60_000, stepMs: 5000 });
    expect(offer.callSid).toBe(call.sid);
    expect(st.clock.now() - since).toBeGreaterThanOrEqual(25_000);
    alice.send({ type: 'accept', offerId: offer.offerId });
    await st.until(alice.next('call', (m) => m.status === 'connected'));
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    alice.close();
  }, 60_000);

  it('an accept whose instance died before dialling the agent: the agent is freed and the caller offered again', async () => {
    s = await makeStack();
    const st = s;
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const call = st.emu.placeCall({ from: '+15554440002', to: NUMBER, behaviour: caller });
    await st.emu.run(st.clock.sleep(40_000));
    const alice = await st.agent('alice-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    const first = await st.until(alice.next('offer'));
    expect(first.callSid).toBe(call.sid);

    // The accept ran on an instance that stopped right after its first two steps.
    const offerId = String(first.offerId);
    const acceptedAt = st.clock.now();
    await st.app.sb.agents.acceptOffer({ agentId: 'alice', offerId });
    await st.app.sb.queues.markBridging({ queue: 'support', callSid: call.sid, offerId });
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('on_call');
    expect((await st.app.sb.queues.position('support', call.sid))?.state).toBe('bridging');
    const dialsBefore = st.emu.log.rest.filter((r) => r.path.endsWith('/Participants.json')).length;

    // Released 45 s after the accept (no agent leg was ever dialled); big steps keep the real time short.
    const failed = await st.until(
      alice.next('call', (m) => m.status === 'failed'),
      { maxMs: 200_000, stepMs: 5000 },
    );
    expect(failed.callSid).toBe(call.sid);
    // Not before the leg's create and its first status callbacks could have come (no live dial given up).
    expect(st.clock.now() - acceptedAt).toBeGreaterThanOrEqual(45_000);
    const again = await st.until(alice.next('offer', (m) => m.offerId !== offerId));
    expect(again.callSid).toBe(call.sid);
    alice.send({ type: 'accept', offerId: again.offerId });
    await st.until(alice.next('call', (m) => m.status === 'connected'));
    expect(st.emu.log.rest.filter((r) => r.path.endsWith('/Participants.json')).length).toBe(dialsBefore + 1);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('on_call');
    alice.close();
  }, 60_000);

  it("an agent's leg answered on an instance that died before the dequeue: a survivor takes the caller out of the queue to that agent", async () => {
    s = await makeStack();
    const st = s;
    // The accept ran on an instance that dialled the agent's leg into the conference and handled the leg's
    // answered status callback (recorded as seen: SequenceNumber 2 after initiated and ringing), then
    // stopped before it took the caller out of the Twilio queue. The survivor gets the leg's other callbacks.
    const { call, alice, leg } = await legDialledByDeadInstance(st, '+15554440003');
    expect((await st.app.sb.calls.statusCallback(leg.callSid, 2, 'in-progress')).isNew).toBe(true);

    // The sweep finds the agent's leg up and the caller still queued: the caller joins that agent.
    const connected = await st.until(
      alice.next('call', (m) => m.status === 'connected'),
      { maxMs: 200_000, stepMs: 5000 },
    );
    expect(connected.callSid).toBe(call.sid);
    expect(alice.messages.filter((m) => m.type === 'call' && m.status === 'failed')).toEqual([]);
    expect(alice.messages.filter((m) => m.type === 'offer')).toHaveLength(1);
    // One agent leg dialled, the one that answered, and it is in the caller's conference with the caller.
    expect(st.emu.log.rest.filter((r) => r.path.endsWith('/Participants.json'))).toHaveLength(1);
    const conf = [...st.emu.conferences.values()].find((c) => c.friendlyName === `sb-${call.sid}`)!;
    expect(
      conf
        .connected()
        .map((p) => p.callSid)
        .sort(),
    ).toEqual([leg.callSid, call.sid].sort());
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('on_call');
    alice.close();
  }, 60_000);

  it('a dequeue whose instance died before it counted the answer: the call is counted answered once and ends as any call', async () => {
    s = await makeStack();
    const st = s;
    // The dead instance took the accept, dialled the agent's leg, handled its answer, took the dequeue and
    // had Twilio take the caller out of the queue onto the connect URL; it stopped before counting it.
    const { call, alice, offerId, rest, leg } = await legDialledByDeadInstance(st, '+15554440004');
    const keys = createKeys(st.prefix);
    const offers = createOfferStore(st.redis, keys);
    await offers.save({ ...(await offers.get(offerId))!, agentLegSid: leg.callSid });
    expect((await st.app.sb.calls.statusCallback(leg.callSid, 2, 'in-progress')).isNew).toBe(true);
    await st.emu.run(st.clock.sleep(2_000));
    const queueSid = (await st.app.sb.queues.callerInfo('support', call.sid))?.queueSid;
    expect(queueSid).toMatch(/^QU/);
    expect(await st.redis.set(keys.offers.dequeuing(offerId), 'dead', 'PX', 30_000, 'NX')).toBe('OK');
    await rest.dequeue(queueSid!, call.sid, st.app.sb.urls.connect('support', offerId));

    // The caller reaches the agent's conference; the survivor counts the answer (well before the dead
    // instance's hold on the dequeue lapses, in real time) and the agent hears of the call once.
    const connected = await st.until(
      alice.next('call', (m) => m.status === 'connected'),
      { maxMs: 60_000, stepMs: 1000 },
    );
    expect(connected.callSid).toBe(call.sid);
    const conf = [...st.emu.conferences.values()].find((c) => c.friendlyName === `sb-${call.sid}`)!;
    expect(
      conf
        .connected()
        .map((p) => p.callSid)
        .sort(),
    ).toEqual([leg.callSid, call.sid].sort());
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    alice.send({ type: 'hangup', callSid: call.sid });
    await st.until(alice.next('wrap_up', (m) => m.callSid === call.sid));
    expect(alice.messages.filter((m) => m.type === 'call' && m.status === 'connected')).toHaveLength(1);
    expect(alice.messages.filter((m) => m.type === 'call' && m.status === 'failed')).toEqual([]);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, abandoned: 0, inQueue: 0 });
    alice.close();
  }, 60_000);
});
