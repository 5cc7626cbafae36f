/**
 * `<Dial>` on a call (https://www.twilio.com/docs/voice/twiml/dial): ring `<Number>` / `<Client>` / `<Sip>`
 * nouns, dequeue from a `<Queue>`, or join a `<Conference>` (dial-conference.ts). When the dialed party
 * hangs up, the action (if any) gets DialCallStatus, DialCallSid, DialCallDuration and DialBridged and its
 * TwiML runs next; without an action the call goes on with the next verb. `timeout` (default 30 s) is how
 * long the legs ring, `timeLimit` (default 14400 s) the longest the bridge may last, `callerId` the From of
 * the legs. Several nouns ring at once and the first to answer is connected, the rest hung up
 * (https://www.twilio.com/docs/voice/twiml/number). A noun's `url` document is played to the called party
 * before the bridge (https://www.twilio.com/docs/voice/twiml/number, attribute url). `<Dial><Queue>` connects
 * the first caller in the queue; on an empty queue it waits for one until `timeout`; a queue that does not
 * exist posts a failed status to the action (https://www.twilio.com/docs/voice/twiml/queue).
 *
 * Decided here (tested in test/sim):
 * - When the caller hangs up during a `<Dial>` with an action, the action is still requested (response
 *   ignored) with DialCallStatus=canceled while ringing, or the final status once bridged.
 * - DialCallStatus is no-answer when the called party's `url` (whisper) document hangs up before the bridge.
 * - The `<Dial><Queue>` action gets DialCallStatus (completed, or failed when the caller vanished before the
 *   bridge; no-answer after `timeout` on an empty queue; failed if the queue does not exist), DialCallSid =
 *   the dequeued caller, DialCallDuration, DialBridged, QueueSid, QueueTime.
 */
import { Bridge } from './bridge.js';
import type { Call, RingOutcome } from './call.js';
import { dialConference } from './dial-conference.js';
import { Aborted, forever, race, type Scope } from './scope.js';
import type { DocTarget, ExecCtx, Flow, Step } from './target.js';
import type { DialVerb, EndpointNoun, QueueNoun } from './twiml.js';
import type { DialResultRecord, HttpMethod } from './types.js';

export interface DialOutcome {
  params: Record<string, string>;
  record: DialResultRecord;
}

/** Record the result of a Dial that was interrupted; after a hang-up, request its action (answer ignored). */
export type NotifyAction = (params: Record<string, string>, record: DialResultRecord) => void;

export async function runDial(call: Call, v: DialVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
  const first = v.nouns[0];
  if (!first) return null;
  const action = v.action ? call.resolveUrl(v.action, ctx) : undefined;
  const notifyAction: NotifyAction = (params, record) => {
    call.dialResults.push(record);
    if (action && call.root.aborted) call.notify('action', action, v.method, params);
  };
  let out: DialOutcome;
  if (first.kind === 'Conference') out = await dialConference(call, first, ctx, scope, notifyAction);
  else if (first.kind === 'Queue') out = await dialQueue(call, v, first, ctx, scope, notifyAction);
  else out = await dialEndpoints(call, v, v.nouns as EndpointNoun[], ctx, scope, notifyAction);
  call.dialResults.push(out.record);
  if (!action) return null;
  return { kind: 'goto', target: { kind: 'fetch', url: action, method: v.method, params: out.params, webhookKind: 'action' } };
}

function createLeg(call: Call, n: EndpointNoun, v: DialVerb, ctx: ExecCtx): Call {
  const ep = call.core.resolveEndpoint(n.address);
  const leg = call.newLeg({
    direction: 'outbound-dial',
    from: v.callerId ?? call.from,
    to: n.address,
    behaviour: ep,
    endpoint: ep,
    parentCallSid: call.sid,
    statusCallback: n.statusCallback
      ? { url: call.resolveUrl(n.statusCallback, ctx), method: n.statusCallbackMethod, events: n.statusCallbackEvents }
      : undefined,
  });
  leg.startOutbound(dialLegTarget(leg, n.url ? call.resolveUrl(n.url, ctx) : undefined, n.method), v.timeoutS * 1000);
  return leg;
}

/** What a dialed leg runs once answered: its whisper (`url`), then the bridge until someone leaves. */
function dialLegTarget(leg: Call, url: string | undefined, method: HttpMethod): DocTarget {
  return {
    kind: 'internal',
    name: 'dial-leg',
    run: async (scope: Scope): Promise<Step> => {
      const bridge = await race(leg.bridgeAssigned.promise, scope);
      leg.bridge = bridge;
      leg.activity = 'bridge';
      const inner = scope.child();
      void bridge.ended.promise.then(() => inner.abort({ type: 'stop', why: 'bridge ended' }));
      try {
        if (url) {
          const r = await leg.playSideDoc(url, method, {}, { context: 'whisper', kind: 'whisper', scope: inner, externalForever: false });
          if (r === 'hangup') return { kind: 'end', by: 'server' };
        }
        bridge.connect();
        await forever(inner);
      } catch (e) {
        if (e instanceof Aborted && !scope.aborted) return { kind: 'end', by: 'twilio' };
        throw e;
      } finally {
        bridge.leave(leg);
        inner.dispose();
        leg.bridge = undefined;
      }
      return { kind: 'end', by: 'twilio' };
    },
  };
}

function firstAnswer(legs: Call[]): Promise<{ winner?: Call; outcomes: RingOutcome[] }> {
  return new Promise((resolve) => {
    let pending = legs.length;
    let done = false;
    const outcomes: RingOutcome[] = [];
    for (const l of legs) {
      void l.ringOutcome.promise.then((o) => {
        if (done) return;
        if (o === 'answered') {
          done = true;
          resolve({ winner: l, outcomes });
          return;
        }
        outcomes.push(o);
        if (--pending === 0) {
          done = true;
          resolve({ outcomes });
        }
      });
    }
  });
}

async function dialEndpoints(
  call: Call,
  v: DialVerb,
  nouns: EndpointNoun[],
  ctx: ExecCtx,
  scope: Scope,
  notifyAction: NotifyAction,
): Promise<DialOutcome> {
  call.activity = 'dialing';
  const legs = nouns.map((n) => createLeg(call, n, v, ctx));
  const firstSid = (legs[0] as Call).sid;
  let picked: { winner?: Call; outcomes: RingOutcome[] };
  try {
    picked = await race(firstAnswer(legs), scope);
  } catch (e) {
    for (const l of legs) l.hangup('twilio');
    notifyAction(
      { DialCallStatus: 'canceled', DialCallSid: firstSid, DialBridged: 'false' },
      { kind: 'endpoint', status: 'canceled', dialCallSid: firstSid, bridged: false },
    );
    throw e;
  }
  for (const l of legs) if (l !== picked.winner) l.hangup('twilio');
  const winner = picked.winner;
  if (!winner) {
    const o = picked.outcomes;
    const status = o.includes('no-answer') ? 'no-answer' : o.includes('busy') ? 'busy' : o.includes('canceled') ? 'canceled' : 'failed';
    if (call.live) call.activity = 'twiml';
    return {
      params: { DialCallStatus: status, DialCallSid: firstSid, DialBridged: 'false' },
      record: { kind: 'endpoint', status, dialCallSid: firstSid, bridged: false },
    };
  }
  const bridge = new Bridge(call, winner, call.clock, v.timeLimitS * 1000);
  call.bridge = bridge;
  call.activity = 'bridge';
  winner.assignBridge(bridge);
  const params = (): Record<string, string> => ({
    DialCallStatus: bridge.connectedAt !== undefined ? 'completed' : 'no-answer',
    DialCallSid: winner.sid,
    DialCallDuration: String(bridge.durationS()),
    DialBridged: String(bridge.connectedAt !== undefined),
  });
  const record = (): DialResultRecord => ({
    kind: 'endpoint',
    status: params().DialCallStatus ?? '',
    dialCallSid: winner.sid,
    durationS: bridge.durationS(),
    bridged: bridge.connectedAt !== undefined,
  });
  return untilBridgeEnds(call, bridge, scope, () => ({ params: params(), record: record() }), notifyAction);
}

/**
 * Wait for a Dial's bridge to end and give its outcome; if the call stops running this TwiML first
 * (hang-up, redirect), leave the bridge and notify the action with the outcome so far.
 */
async function untilBridgeEnds(
  call: Call,
  bridge: Bridge,
  scope: Scope,
  outcome: () => DialOutcome,
  notifyAction: NotifyAction,
): Promise<DialOutcome> {
  try {
    await race(bridge.ended.promise, scope);
  } catch (e) {
    bridge.leave(call);
    const o = outcome();
    notifyAction(o.params, o.record);
    throw e;
  } finally {
    call.bridge = undefined;
    if (call.live) call.activity = 'twiml';
  }
  return outcome();
}

async function dialQueue(
  call: Call,
  v: DialVerb,
  noun: QueueNoun,
  ctx: ExecCtx,
  scope: Scope,
  notifyAction: NotifyAction,
): Promise<DialOutcome> {
  const clock = call.clock;
  const q = call.core.queueRegistry.byFriendlyName(noun.name);
  if (!q) {
    return {
      params: { DialCallStatus: 'failed', DialBridged: 'false' },
      record: { kind: 'queue', status: 'failed', bridged: false },
    };
  }
  call.activity = 'dialing';
  let m = q.takeFront(clock.now());
  if (!m) {
    try {
      m = (await q.waitForMember(clock, v.timeoutS * 1000, scope)) ?? undefined;
    } catch (e) {
      notifyAction(
        { DialCallStatus: 'canceled', DialBridged: 'false', QueueSid: q.sid },
        { kind: 'queue', status: 'canceled', bridged: false },
      );
      throw e;
    }
  }
  if (!m) {
    if (call.live) call.activity = 'twiml';
    return {
      params: { DialCallStatus: 'no-answer', DialBridged: 'false', QueueSid: q.sid },
      record: { kind: 'queue', status: 'no-answer', bridged: false },
    };
  }
  const member = m;
  const bridge = new Bridge(call, member.call, clock, v.timeLimitS * 1000);
  const queueTimeS = Math.floor(((member.leftAt ?? clock.now()) - member.enqueuedAt) / 1000);
  call.bridge = bridge;
  call.activity = 'bridge';
  member.outcome.resolve({
    type: 'bridged',
    bridge,
    dequeuer: call,
    url: noun.url ? call.resolveUrl(noun.url, ctx) : undefined,
    method: noun.method,
  });
  const params = (): Record<string, string> => ({
    DialCallStatus: bridge.connectedAt !== undefined ? 'completed' : 'failed',
    DialCallSid: member.call.sid,
    DialCallDuration: String(bridge.durationS()),
    DialBridged: String(bridge.connectedAt !== undefined),
    QueueSid: q.sid,
    QueueTime: String(queueTimeS),
  });
  const record = (): DialResultRecord => ({
    kind: 'queue',
    status: params().DialCallStatus ?? '',
    dialCallSid: member.call.sid,
    durationS: bridge.durationS(),
    bridged: bridge.connectedAt !== undefined,
  });
  return untilBridgeEnds(call, bridge, scope, () => ({ params: params(), record: record() }), notifyAction);
}
