/**
 * Documents on a call: fetch a TwiML document (or take TwiML given over REST), validate it for the context
 * it runs in, fall back when it fails, and run its verbs one after another (each verb in its own module).
 *
 * Rules: every request carries the standard voice parameters plus the verb's own
 * (https://www.twilio.com/docs/voice/twiml, request parameters); Twilio takes TwiML served as text/xml,
 * application/xml or text/html (the same page, on your response); when Twilio cannot retrieve or run the TwiML
 * it requests the fallback URL at once with the original parameters plus ErrorCode and ErrorUrl, and without
 * a fallback it plays an application error (https://www.twilio.com/docs/usage/security/availability-reliability;
 * error codes 11200 HTTP retrieval failure, 11205 connection failure, 12100 document parse failure, 12300
 * invalid Content-Type, https://www.twilio.com/docs/api/errors); `<Reject>` as the first verb leaves the call
 * unanswered (https://www.twilio.com/docs/voice/twiml/reject); `<Redirect>` goes on at its URL
 * (https://www.twilio.com/docs/voice/twiml/redirect); `<Leave>` only acts in a queue's waitUrl
 * (https://www.twilio.com/docs/voice/twiml/leave); a document that runs out ends the call.
 *
 * Decided here (tested in test/sim): the fallback is used by any document of a call (the number's, or
 * calls.create FallbackUrl) and runs under the same restrictions as the failed one. If there is no fallback
 * or it fails too: a top-level document plays "an application error has occurred" and hangs up (endedBy
 * 'twilio'); a waitUrl document takes the caller out of the queue with QueueResult=error; conference wait /
 * hold / whisper documents (side documents, no fallback) are skipped. A document that takes no clock time
 * and leads to another (Redirect loops) is allowed 50 times in a row, then the call fails with emulator error
 * 90001 (a side document just stops), so virtual time always moves.
 */
import type { Call } from './call.js';
import { DEFAULT_HOLD_MUSIC, sayDurationMs, type ErrorInput } from './core.js';
import { runDial } from './dial.js';
import { runEnqueue } from './enqueue.js';
import { runGather } from './gather.js';
import { play, say } from './media.js';
import { runRecord } from './record.js';
import { Aborted, forever, race, sleep, type Scope } from './scope.js';
import type { DocTarget, ExecCtx, FetchTarget, Flow, LoadedDoc, SideDocOptions, Step } from './target.js';
import { parseTwiml, TwimlError, type Verb } from './twiml.js';
import type { DocContext, HttpMethod } from './types.js';

const ACCEPTED_TYPES = new Set(['text/xml', 'application/xml', 'text/html']);
export const APP_ERROR_TEXT = "We're sorry, an application error has occurred. Goodbye.";
/** Documents in a row that may take no clock time before the emulator calls it a loop. */
const ZERO_TIME_LIMIT = 50;

/** The call's program: run targets one after another, following REST redirects, until the call ends. */
export async function runDocuments(call: Call, first: DocTarget): Promise<void> {
  let target = first;
  let zeroStreak = 0;
  for (;;) {
    if (call.root.aborted) return;
    target = call.takeRedirect() ?? target;
    const scope = call.root.child();
    call.docScope = scope;
    const t0 = call.clock.now();
    let step: Step;
    try {
      step = await execTarget(call, target, scope);
    } catch (e) {
      if (!(e instanceof Aborted)) throw e;
      if (call.root.aborted) return;
      if (call.redirectPending) continue;
      call.hangup('twilio');
      return;
    } finally {
      scope.dispose();
    }
    if (call.root.aborted) return;
    if (call.redirectPending) continue;
    if (step.kind === 'end') {
      call.hangup(step.by, step.status);
      return;
    }
    zeroStreak = call.clock.now() === t0 ? zeroStreak + 1 : 0;
    if (zeroStreak >= ZERO_TIME_LIMIT) {
      call.recordError({
        code: 90001,
        level: 'error',
        kind: 'emulator',
        message: `${ZERO_TIME_LIMIT} documents in a row took no time (a Redirect loop?); hanging up`,
      });
      call.hangup('twilio');
      return;
    }
    target = step.target;
  }
}

/** Run one top-level target (a document, REST TwiML or an internal activity) and say what comes next. */
async function execTarget(call: Call, target: DocTarget, scope: Scope): Promise<Step> {
  if (target.kind === 'internal') return target.run(scope);
  const doc = await load(call, target, 'top', scope, true);
  if (!doc) return applicationError(call, scope);
  if (call.answeredAt === undefined) {
    const first = doc.verbs[0];
    // <Reject> first: Twilio never answers (busy → busy, rejected → no-answer).
    if (first?.kind === 'Reject') return { kind: 'end', by: 'server', status: first.reason === 'busy' ? 'busy' : 'no-answer' };
    call.answer();
  }
  const flow = await runVerbs(call, doc.verbs, { docUrl: doc.url, context: 'top' }, scope);
  if (flow.kind === 'goto') return { kind: 'next', target: flow.target };
  return { kind: 'end', by: 'server' };
}

async function applicationError(call: Call, scope: Scope): Promise<Step> {
  if (call.answeredAt === undefined) call.answer();
  call.heard.push(APP_ERROR_TEXT);
  const s = call.core.settings;
  await sleep(call.clock, sayDurationMs(APP_ERROR_TEXT, s.wordsPerMinute, s.minSayMs), scope);
  return { kind: 'end', by: 'twilio' };
}

/** Fetch + validate a document; on failure try the fallback URL. null = nothing runnable. */
export async function load(
  call: Call,
  target: FetchTarget,
  context: DocContext,
  scope: Scope,
  useFallback: boolean,
): Promise<LoadedDoc | null> {
  const r = await fetchDoc(call, target, context, scope);
  if (r.ok) return r.doc;
  if (!useFallback || !call.fallback) return null;
  const fb: FetchTarget = {
    kind: 'fetch',
    url: call.fallback.url,
    method: call.fallback.method,
    params: { ...(target.kind === 'fetch' ? target.params : {}), ErrorCode: String(r.code), ErrorUrl: r.url },
    webhookKind: 'fallback',
  };
  const r2 = await fetchDoc(call, fb, context, scope);
  return r2.ok ? r2.doc : null;
}

async function fetchDoc(
  call: Call,
  target: FetchTarget,
  context: DocContext,
  scope: Scope,
): Promise<{ ok: true; doc: LoadedDoc } | { ok: false; code: number; url: string }> {
  if (target.kind === 'twiml') {
    try {
      const parsed = parseTwiml(target.xml, { context, requireAbsoluteUrls: true });
      for (const w of parsed.warnings) call.recordError({ code: 12200, level: 'warning', kind: 'twiml', message: w, document: target.xml });
      return { ok: true, doc: { url: '', verbs: parsed.verbs } };
    } catch (e) {
      if (!(e instanceof TwimlError)) throw e;
      call.recordError({ code: 12100, level: 'error', kind: 'twiml', message: `REST Twiml: ${e.message}`, document: target.xml });
      return { ok: false, code: 12100, url: '' };
    }
  }
  const hooks = call.core.hooks;
  const url = target.url;
  call.documents.push(hooks.pathOf(url));
  const res = await race(
    hooks.send({
      kind: target.webhookKind,
      url,
      method: target.method,
      params: { ...call.baseParams(), ...(target.params ?? {}) },
      callSid: call.sid,
    }),
    scope,
  );
  const fail = (code: number, kind: ErrorInput['kind'], message: string, document?: string) => {
    call.recordError({ code, level: 'error', kind, url, message, document });
    return { ok: false as const, code, url };
  };
  if (!res.ok) return fail(res.failure === 'timeout' ? 11200 : 11205, 'http', `${target.webhookKind} ${url}: ${res.message}`);
  if (res.status < 200 || res.status > 299) return fail(11200, 'http', `HTTP retrieval failure: ${url} answered ${res.status}`, res.body);
  const mime = (res.contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (!ACCEPTED_TYPES.has(mime)) return fail(12300, 'content-type', `invalid Content-Type "${res.contentType}" from ${url}`, res.body);
  try {
    const parsed = parseTwiml(res.body, { context });
    for (const w of parsed.warnings)
      call.recordError({ code: 12200, level: 'warning', kind: 'twiml', url, message: w, document: res.body });
    return { ok: true, doc: { url, verbs: parsed.verbs } };
  } catch (e) {
    if (!(e instanceof TwimlError)) throw e;
    return fail(12100, 'twiml', `${url}: ${e.message}`, res.body);
  }
}

/**
 * Run a secondary document on this call (conference wait / hold music, `<Queue url>`, a whisper) until it
 * runs out or the scope is aborted. No fallback. Returns 'hangup' if the document said `<Hangup>`.
 */
export async function playSideDoc(
  call: Call,
  url: string | undefined,
  method: HttpMethod,
  extra: Record<string, string>,
  o: SideDocOptions,
): Promise<'done' | 'hangup'> {
  if (url === undefined || !call.core.hooks.isRoutable(url)) {
    const media = url ?? DEFAULT_HOLD_MUSIC;
    call.played.push(media);
    if (o.externalForever) await forever(o.scope);
    await sleep(call.clock, call.core.settings.playDurationMs(media), o.scope);
    return 'done';
  }
  let cur = { url, method, params: extra };
  for (let hops = 0; ; hops++) {
    const t0 = call.clock.now();
    const doc = await load(call, { kind: 'fetch', ...cur, webhookKind: o.kind }, o.context, o.scope, false);
    if (!doc) return 'done';
    const flow = await runVerbs(call, doc.verbs, { docUrl: doc.url, context: o.context }, o.scope);
    if (flow.kind === 'hangup') return 'hangup';
    if (flow.kind !== 'goto' || flow.target.kind !== 'fetch') return 'done';
    cur = { url: flow.target.url, method: flow.target.method, params: { ...extra, ...(flow.target.params ?? {}) } };
    if (call.clock.now() === t0 && hops >= ZERO_TIME_LIMIT) {
      call.recordError({ code: 90001, level: 'error', kind: 'emulator', url, message: 'zero-time Redirect loop' });
      return 'done';
    }
  }
}

/** Run verbs in order until one moves the call elsewhere (or they run out). */
export async function runVerbs(call: Call, verbs: Verb[], ctx: ExecCtx, scope: Scope): Promise<Flow> {
  for (const v of verbs) {
    let f: Flow | null = null;
    switch (v.kind) {
      case 'Say':
        await say(call, v, scope);
        break;
      case 'Play':
        await play(call, v, scope);
        break;
      case 'Pause':
        await sleep(call.clock, v.lengthS * 1000, scope);
        break;
      case 'Gather':
        f = await runGather(call, v, ctx, scope);
        break;
      case 'Redirect':
        return {
          kind: 'goto',
          target: { kind: 'fetch', url: call.resolveUrl(v.url, ctx), method: v.method, webhookKind: 'redirect' },
        };
      case 'Hangup':
        return { kind: 'hangup' };
      case 'Reject':
        return { kind: 'reject', reason: v.reason };
      case 'Leave':
        // Outside a queue's waitUrl, <Leave> does nothing.
        if (ctx.context === 'waitUrl') return { kind: 'leave' };
        break;
      case 'Record':
        f = await runRecord(call, v, ctx, scope);
        break;
      case 'Enqueue':
        f = await runEnqueue(call, v, ctx, scope);
        break;
      case 'Dial':
        f = await runDial(call, v, ctx, scope);
        break;
    }
    if (f) return f;
  }
  return { kind: 'end' };
}
