/**
 * Time limits of Twilio REST calls (src/queue/twilio-rest.ts): a request Twilio holds open (the
 * connection stays up, no answer ever comes) is abandoned at the request timeout, and the operation gives
 * up when its total budget leaves no room for another attempt; the caller keeps their place and is
 * answered once REST works again. A 429's Retry-After is waited out (and an operation whose Retry-After
 * is beyond its budget gives up at once, without waiting); other retries back off exponentially with
 * jitter. Waits are read from the emulator's record of each request, on its (virtual) clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioRest } from '../../src/queue/twilio-rest.js';
import { VirtualClock } from '../../src/clock.js';
import { createTwilioEmulator, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, sample } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PARTICIPANTS = /\/Conferences\/sb-CA[0-9a-f]{32}\/Participants\.json$/;
const CALL = /\/Calls\/CA[0-9a-f]{32}\.json$/;
const UNKNOWN_CALL = 'CA' + 'e'.repeat(32);

async function emulator(): Promise<{ emu: TwilioEmulator; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const emu = await createTwilioEmulator({
    clock,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    webhookBase: 'http://127.0.0.1:9',
    publicBaseUrl: PUBLIC_BASE,
    numbers: {},
    seed: 3,
  });
  cleanups.push(() => emu.close());
  return { emu, clock };
}

/** Clock time between consecutive requests the emulator saw for `re`. */
const gaps = (emu: TwilioEmulator, re: RegExp): number[] => {
  const at = emu.log.rest.filter((r) => re.test(r.path)).map((r) => r.at);
  return at.slice(1).map((t, i) => t - at[i]!);
};

describe('a REST request held open', () => {
  it('is abandoned at its timeout; the bridge gives up within its budget, the caller keeps their place and is answered later', async () => {
    const st: Stack = await makeStack({ twilioRest: { requestTimeoutMs: 800, budgetMs: 3000 } });
    cleanups.push(() => st.close());
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await st.agent('alice-demo-token');
    const first = st.emu.placeCall({ from: '+15556670001', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(20_000));
    const second = st.emu.placeCall({ from: '+15556670002', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(20_000));

    // Twilio takes every participant create and never answers, without closing the connection.
    st.emu.faults.holdNextRest({ count: 100, match: { path: PARTICIPANTS } });
    alice.send({ type: 'set_state', state: 'available' });
    const o1 = await st.until(alice.next('offer'));
    expect(o1.callSid).toBe(first.sid);
    const from = alice.messages.length;
    alice.send({ type: 'accept', offerId: o1.offerId });
    const result = await st.until(
      alice.next('call', (m) => m.callSid === first.sid && (m.status === 'connected' || m.status === 'failed'), from),
    );
    expect(result.status).toBe('failed');
    st.emu.faults.clear();

    // Each attempt was held until the server gave up on it and closed the connection; the 3 s budget
    // leaves room for two or three 0.8 s attempts and their waits, never the four attempts of a 5xx.
    const held = st.emu.log.rest.filter((r) => PARTICIPANTS.test(r.path));
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(held.length).toBeLessThanOrEqual(3);
    for (const r of held) expect(r.fault).toBe('held open, closed by the client');
    const m = await st.app.inject({ method: 'GET', url: '/metrics' }).then((r) => r.body);
    expect(sample(m, 'switchboard_twilio_rest_requests_total', { op: 'add_participant', result: 'failed' })).toBe(1);

    // The caller was never taken out of the queue: still first, still live, the second caller behind.
    expect(first.live).toBe(true);
    expect((await st.app.sb.queues.position('support', first.sid))?.position).toBe(1);
    expect((await st.app.sb.queues.position('support', second.sid))?.position).toBe(2);

    // REST works again: the same caller is offered and answered, counted once.
    const o2 = await st.until(alice.next('offer', (x) => x.offerId !== o1.offerId && x.callSid === first.sid));
    const from2 = alice.messages.length;
    alice.send({ type: 'accept', offerId: o2.offerId });
    const again = await st.until(
      alice.next('call', (x) => x.callSid === first.sid && (x.status === 'connected' || x.status === 'failed'), from2),
    );
    expect(again.status).toBe('connected');
    const after = await st.app.inject({ method: 'GET', url: '/metrics' }).then((r) => r.body);
    expect(sample(after, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(after, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(2);
  });
});

describe('waits between attempts', () => {
  it("a 429's Retry-After is waited out", async () => {
    const { emu, clock } = await emulator();
    const rest = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: emu.restBaseUrl, clock, random: () => 0 });
    emu.faults.failNextRest({ status: 429, retryAfterSeconds: 5, match: { path: CALL } });
    emu.faults.failNextRest({ status: 429, match: { path: CALL } });
    // The third attempt reaches the emulator, which knows no such call: 404, not retried.
    await expect(emu.run(rest.hangup(UNKNOWN_CALL))).rejects.toMatchObject({ status: 404 });
    expect(emu.log.rest.filter((r) => CALL.test(r.path)).map((r) => r.fault ?? r.status)).toEqual(['fail 429', 'fail 429', 404]);
    // 5 s as Twilio asked; then (no Retry-After) the second backoff step, 500 ms × (0.5 + 0/2).
    expect(gaps(emu, CALL)).toEqual([5000, 250]);
  });

  it('a Retry-After beyond the budget gives up at once instead of waiting', async () => {
    const { emu, clock } = await emulator();
    const rest = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: emu.restBaseUrl, clock, budgetMs: 10_000 });
    emu.faults.failNextRest({ status: 429, retryAfterSeconds: 60, match: { path: CALL } });
    const t0 = clock.now();
    await expect(emu.run(rest.hangup(UNKNOWN_CALL))).rejects.toMatchObject({ status: 429 });
    expect(emu.log.rest.filter((r) => CALL.test(r.path))).toHaveLength(1);
    expect(clock.now() - t0).toBeLessThan(60_000);
  });

  it('5xx retries back off exponentially with jitter over the upper half of each step', async () => {
    for (const [r, expected] of [
      [0, [125, 250, 500]],
      [0.5, [187.5, 375, 750]],
    ] as const) {
      const { emu, clock } = await emulator();
      const rest = createTwilioRest({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        apiBaseUrl: emu.restBaseUrl,
        clock,
        random: () => r,
      });
      emu.faults.failNextRest({ status: 503, count: 4, match: { path: CALL } });
      await expect(emu.run(rest.hangup(UNKNOWN_CALL))).rejects.toMatchObject({ status: 503 });
      expect(gaps(emu, CALL)).toEqual(expected);
    }
  });
});
