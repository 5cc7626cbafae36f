/**
 * `<Gather>` on a call (https://www.twilio.com/docs/voice/twiml/gather): play the nested prompts, ask the
 * simulated caller for an answer, then post Digits (+ FinishedOnKey) or SpeechResult (+ Confidence) to the
 * action, which defaults to the URL of the document being run. With no input Twilio goes on with the next
 * verb, unless `actionOnEmptyResult` is true (then the action gets empty Digits).
 *
 * How a simulated caller's answer becomes Gather input and how long it takes (pure, so it is easy to test).
 *
 * Timing (decided; Twilio documents the rules, not the caller's speed): the first key or word comes
 * `delayMs` (default 1 s) after the prompts end, then 250 ms per key / 400 ms per word. If `delayMs` is not
 * shorter than the Gather timeout, the caller was too slow: no input. Digits stop at `numDigits` or at a
 * finish key (not included in Digits, reported as FinishedOnKey); otherwise Twilio waits `timeout` seconds
 * after the last key. Only the finish key with no digits counts as empty input. Speech ends after
 * `speechTimeout` (auto = 1 s) of silence. DTMF wins when an answer has both and both inputs are allowed.
 */
import type { Call } from './call.js';
import { prompt } from './media.js';
import { sleep, type Scope } from './scope.js';
import type { ExecCtx, Flow } from './target.js';
import type { GatherVerb } from './twiml.js';
import type { GatherAnswer } from './types.js';

export type GatherInput =
  | { kind: 'none'; ms: number; pressed: string }
  | { kind: 'digits'; digits: string; finishedOnKey: string; ms: number; pressed: string }
  | { kind: 'speech'; text: string; confidence: number; ms: number; pressed: '' };

export const KEY_MS = 250;
export const WORD_MS = 400;

export function interpretGather(v: GatherVerb, ans: GatherAnswer | null | undefined): GatherInput {
  const timeoutMs = v.timeoutS * 1000;
  if (!ans) return { kind: 'none', ms: timeoutMs, pressed: '' };
  const delay = Math.max(0, ans.delayMs ?? 1000);
  if (delay >= timeoutMs) return { kind: 'none', ms: timeoutMs, pressed: '' };
  const dtmf = v.input.includes('dtmf');
  const speech = v.input.includes('speech');
  if (dtmf && ans.digits) {
    let digits = '';
    let finished = '';
    let pressed = '';
    let ms = delay;
    let complete = false;
    for (const ch of ans.digits) {
      if (!/[0-9*#]/.test(ch)) continue;
      ms += KEY_MS;
      pressed += ch;
      if (v.finishOnKey.includes(ch)) {
        finished = ch;
        complete = true;
        break;
      }
      digits += ch;
      if (v.numDigits !== undefined && digits.length >= v.numDigits) {
        complete = true;
        break;
      }
    }
    if (!complete) ms += timeoutMs;
    if (digits === '') return { kind: 'none', ms, pressed };
    return { kind: 'digits', digits, finishedOnKey: finished, ms, pressed };
  }
  if (speech && ans.speech && ans.speech.trim()) {
    const words = ans.speech.trim().split(/\s+/).length;
    const tail = v.speechTimeout === 'auto' ? 1000 : v.speechTimeout * 1000;
    const confidence = ans.confidence ?? 0.9;
    return { kind: 'speech', text: ans.speech.trim(), confidence, ms: delay + words * WORD_MS + tail, pressed: '' };
  }
  return { kind: 'none', ms: timeoutMs, pressed: '' };
}

/** Run a `<Gather>`: its prompts, the caller's answer, then where the call goes (null: the next verb). */
export async function runGather(call: Call, v: GatherVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
  const heardHere: string[] = [];
  for (const p of v.prompts) await prompt(call, p, scope, heardHere);
  const attemptKey = ctx.docUrl || '(twiml)';
  const attempt = (call.gatherAttempts.get(attemptKey) ?? 0) + 1;
  call.gatherAttempts.set(attemptKey, attempt);
  const ans = call.behaviour.gather?.({
    callSid: call.sid,
    docUrl: ctx.docUrl,
    path: ctx.docUrl ? call.core.hooks.pathOf(ctx.docUrl) : '',
    heard: heardHere,
    allHeard: call.heard,
    attempt,
    input: [...v.input],
    numDigits: v.numDigits,
    finishOnKey: v.finishOnKey,
    timeoutS: v.timeoutS,
    context: ctx.context,
  });
  if (ans === 'hangup') {
    call.hangup('caller');
    scope.throwIfAborted();
    return { kind: 'hangup' };
  }
  const input = interpretGather(v, ans);
  await sleep(call.clock, input.ms, scope);
  if (input.pressed) call.digitsSent.push(input.pressed);
  let params: Record<string, string>;
  if (input.kind === 'digits') params = { Digits: input.digits, FinishedOnKey: input.finishedOnKey };
  else if (input.kind === 'speech') {
    call.speechSent.push(input.text);
    params = { SpeechResult: input.text, Confidence: String(input.confidence) };
  } else {
    if (!v.actionOnEmptyResult) return null;
    params = { Digits: '', FinishedOnKey: '' };
  }
  const url = v.action ? call.resolveUrl(v.action, ctx) : ctx.docUrl;
  if (!url) {
    call.recordError({ code: 12100, level: 'warning', kind: 'twiml', message: '<Gather> without action in REST TwiML: nowhere to post' });
    return null;
  }
  return { kind: 'goto', target: { kind: 'fetch', url, method: v.method, params, webhookKind: 'gather' } };
}
