/**
 * `<Enqueue>` on a call (https://www.twilio.com/docs/voice/twiml/enqueue): the caller waits in the named queue
 * (created on demand) hearing the waitUrl document, requested again and again with QueuePosition, QueueSid,
 * QueueTime, AvgQueueTime, CurrentQueueSize and MaxQueueSize, and restricted to Play, Say, Pause, Hangup,
 * Redirect, Leave and Gather. The caller leaves by `<Leave>`, a dequeue (`<Dial><Queue>` or the Member
 * resource over REST), a hang-up or a redirect; the action then gets QueueResult, QueueSid and QueueTime.
 * A full queue answers QueueResult=queue-full at once. When the dequeuer's `<Queue url>` is set, that
 * document is played to this caller before the bridge, with QueueSid, QueueTime and DequeingCallSid
 * (https://www.twilio.com/docs/voice/twiml/queue, attribute url).
 *
 * Decided here (tested in test/sim): the action is a notification (answer ignored) for QueueResult=hangup
 * and redirected; a caller hanging up while the `<Queue url>` document plays gets bridging-in-process;
 * redirected by REST while bridged: redirected-from-bridged; a `<Hangup>` in the waitUrl document: hangup;
 * a waitUrl document that takes no time is re-requested after 1 s (warning 90002), so virtual time moves.
 */
import type { Call } from './call.js';
import { DEFAULT_HOLD_MUSIC } from './core.js';
import type { EmuQueue, MemberOutcome, QueueMember } from './queue.js';
import { Aborted, forever, race, sleep, type Scope } from './scope.js';
import type { ExecCtx, Flow } from './target.js';
import type { EnqueueVerb } from './twiml.js';
import type { HttpMethod, WebhookKind } from './types.js';

function queueWaitParams(call: Call, q: EmuQueue, m: QueueMember): Record<string, string> {
  const now = call.clock.now();
  return {
    QueuePosition: String(q.position(m)),
    QueueSid: q.sid,
    QueueTime: String(Math.floor((now - m.enqueuedAt) / 1000)),
    AvgQueueTime: String(q.averageWaitS(now)),
    CurrentQueueSize: String(q.size),
    MaxQueueSize: String(q.maxSize),
  };
}

/** QueueSid and QueueTime of the action request. */
function actionParams(call: Call, q: EmuQueue, m: QueueMember): Record<string, string> {
  return {
    QueueSid: q.sid,
    QueueTime: String(Math.floor(((m.leftAt ?? call.clock.now()) - m.enqueuedAt) / 1000)),
  };
}

function noteQueue(call: Call, q: EmuQueue, result: string, m?: QueueMember): void {
  call.queueResults.push(result);
  call.queueWaits.push({ queue: q.friendlyName, result, waitMs: m ? (m.leftAt ?? call.clock.now()) - m.enqueuedAt : 0 });
}

export async function runEnqueue(call: Call, v: EnqueueVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
  const clock = call.clock;
  const q = call.core.queueRegistry.getOrCreate(v.name, v.maxQueueSize);
  const action = v.action ? call.resolveUrl(v.action, ctx) : undefined;
  const post = (params: Record<string, string>): Flow | null =>
    action ? { kind: 'goto', target: { kind: 'fetch', url: action, method: v.method, params, webhookKind: 'action' } } : null;
  if (q.isFull()) {
    noteQueue(call, q, 'queue-full');
    return post({ QueueResult: 'queue-full' });
  }
  const m = q.add(call, clock.now());
  call.queue = q;
  call.activity = 'queue';
  // Leaving the queue must be synchronous with the hang-up / redirect, so no dequeuer can pick us after it.
  const offAbort = scope.onAbort(() => q.remove(m, clock.now()));
  const waitScope = scope.child();
  const patience = call.behaviour.patienceMs;
  const cancelPatience = patience !== undefined ? clock.setTimer(patience, () => call.hangup('caller')) : () => {};
  waitLoop(call, v, ctx, q, m, waitScope).then(
    (outcome) => {
      if (m.outcome.settled) return;
      m.outcome.resolve(outcome);
      q.remove(m, clock.now());
    },
    () => {},
  );
  let outcome: MemberOutcome;
  try {
    outcome = await race(m.outcome.promise, scope);
  } catch (e) {
    q.remove(m, clock.now());
    if (e instanceof Aborted) {
      const result = call.root.aborted ? 'hangup' : 'redirected';
      noteQueue(call, q, result, m);
      if (action) call.notify('action', action, v.method, { QueueResult: result, ...actionParams(call, q, m) });
    }
    throw e;
  } finally {
    offAbort();
    cancelPatience();
    waitScope.abort({ type: 'stop', why: 'left the queue' });
    call.queue = undefined;
    if (call.live) call.activity = 'twiml';
  }
  switch (outcome.type) {
    case 'leave':
    case 'error':
      noteQueue(call, q, outcome.type, m);
      return post({ QueueResult: outcome.type, ...actionParams(call, q, m) });
    case 'hangup':
      noteQueue(call, q, 'hangup', m);
      if (action) call.notify('action', action, v.method, { QueueResult: 'hangup', ...actionParams(call, q, m) });
      return { kind: 'hangup' };
    case 'bridged':
      return bridgedFromQueue(call, outcome, q, m, action, v.method, scope);
  }
}

/** The waitUrl loop: request, run (waitUrl restrictions), repeat, while the caller waits. */
async function waitLoop(call: Call, v: EnqueueVerb, ctx: ExecCtx, q: EmuQueue, m: QueueMember, scope: Scope): Promise<MemberOutcome> {
  const clock = call.clock;
  const waitUrl = v.waitUrl ? call.resolveUrl(v.waitUrl, ctx) : undefined;
  if (!waitUrl || !call.core.hooks.isRoutable(waitUrl)) {
    call.played.push(waitUrl ?? DEFAULT_HOLD_MUSIC);
    return forever(scope);
  }
  let cur: { url: string; method: HttpMethod; params: Record<string, string>; kind: WebhookKind } = {
    url: waitUrl,
    method: v.waitUrlMethod,
    params: {},
    kind: 'wait',
  };
  for (;;) {
    const t0 = clock.now();
    const doc = await call.load(
      { kind: 'fetch', url: cur.url, method: cur.method, params: { ...cur.params, ...queueWaitParams(call, q, m) }, webhookKind: cur.kind },
      'waitUrl',
      scope,
      true,
    );
    if (!doc) return { type: 'error' };
    const flow = await call.runVerbs(doc.verbs, { docUrl: doc.url, context: 'waitUrl' }, scope);
    if (flow.kind === 'leave') return { type: 'leave' };
    if (flow.kind === 'hangup') return { type: 'hangup' };
    if (flow.kind === 'goto' && flow.target.kind === 'fetch')
      cur = { url: flow.target.url, method: flow.target.method, params: flow.target.params ?? {}, kind: flow.target.webhookKind };
    else cur = { url: waitUrl, method: v.waitUrlMethod, params: {}, kind: 'wait' };
    if (clock.now() === t0) {
      if (!call.zeroWarned) {
        call.zeroWarned = true;
        call.recordError({
          code: 90002,
          level: 'warning',
          kind: 'emulator',
          url: waitUrl,
          message: 'waitUrl document took no time; re-requesting after 1 s',
        });
      }
      await sleep(clock, 1000, scope);
    }
  }
}

/** Dequeued: hear the dequeuer's `<Queue url>` document, then talk until the bridge ends. */
async function bridgedFromQueue(
  call: Call,
  o: Extract<MemberOutcome, { type: 'bridged' }>,
  q: EmuQueue,
  m: QueueMember,
  action: string | undefined,
  method: HttpMethod,
  scope: Scope,
): Promise<Flow | null> {
  const bridge = o.bridge;
  call.bridge = bridge;
  call.activity = 'bridge';
  const inner = scope.child();
  void bridge.ended.promise.then(() => inner.abort({ type: 'stop', why: 'bridge ended' }));
  let phase: 'connecting' | 'bridged' = 'connecting';
  try {
    if (o.url) {
      await call.playSideDoc(
        o.url,
        o.method,
        { ...actionParams(call, q, m), DequeingCallSid: o.dequeuer.sid },
        { context: 'dialQueueUrl', kind: 'dial-queue-url', scope: inner, externalForever: false },
      );
    }
    bridge.connect();
    phase = 'bridged';
    await forever(inner);
  } catch (e) {
    if (!(e instanceof Aborted)) throw e;
    if (scope.aborted) {
      const result = call.root.aborted
        ? phase === 'bridged'
          ? 'bridged'
          : 'bridging-in-process'
        : phase === 'bridged'
          ? 'redirected-from-bridged'
          : 'redirected';
      bridge.leave(call);
      noteQueue(call, q, result, m);
      if (action) call.notify('action', action, method, { QueueResult: result, ...actionParams(call, q, m) });
      throw e;
    }
    // The agent's side ended the bridge: this caller carries on.
  } finally {
    bridge.leave(call);
    inner.dispose();
    call.bridge = undefined;
    if (call.live) call.activity = 'twiml';
  }
  const result = phase === 'bridged' ? 'bridged' : 'bridging-in-process';
  noteQueue(call, q, result, m);
  const params = { QueueResult: result, ...actionParams(call, q, m) };
  return action ? { kind: 'goto', target: { kind: 'fetch', url: action, method, params, webhookKind: 'action' } } : null;
}
