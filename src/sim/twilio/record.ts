/**
 * `<Record>` on a call (https://www.twilio.com/docs/voice/twiml/record): a beep (playBeep, default true),
 * then the caller's message until they press a finishOnKey key, hang up, or `maxLength` is reached. The
 * action gets RecordingUrl, RecordingSid, RecordingDuration and Digits ('hangup' when the caller hung up,
 * the key pressed otherwise); with no action the document's own URL is requested. When Twilio hears only
 * silence for `timeout` seconds it makes no recording, skips the action and goes on with the next verb.
 * `recordingStatusCallback` gets AccountSid, CallSid, RecordingSid, RecordingUrl, RecordingStatus,
 * RecordingDuration, RecordingChannels, RecordingSource (RecordVerb) and RecordingStartTime (attribute
 * recordingStatusCallback on the same page).
 *
 * Decided here: the caller hanging up to end the recording still requests the action, its answer ignored
 * (a notification); a recording is 1 channel; its URL is the Recording resource's.
 */
import type { Call } from './call.js';
import { rfc2822 } from './core.js';
import { sleep, type Scope } from './scope.js';
import type { ExecCtx, Flow } from './target.js';
import type { RecordVerb } from './twiml.js';

export async function runRecord(call: Call, v: RecordVerb, ctx: ExecCtx, scope: Scope): Promise<Flow | null> {
  if (v.playBeep) call.played.push('beep');
  const rec = call.behaviour.record;
  if (!rec || rec.durationMs <= 0) {
    await sleep(call.clock, v.timeoutS * 1000, scope);
    return null;
  }
  const ms = Math.min(rec.durationMs, v.maxLengthS * 1000);
  await sleep(call.clock, ms, scope);
  const core = call.core;
  const sid = core.sids.sid('RE');
  const recordingUrl = `https://api.twilio.com/2010-04-01/Accounts/${core.accountSid}/Recordings/${sid}`;
  const durationS = Math.round(ms / 1000);
  call.recordings.push({ sid, url: recordingUrl, durationS });
  const hitMax = rec.durationMs >= v.maxLengthS * 1000;
  const digits = rec.hangup ? 'hangup' : hitMax ? '' : (v.finishOnKey[0] ?? '');
  if (digits && digits !== 'hangup') call.digitsSent.push(digits);
  const params = { RecordingUrl: recordingUrl, RecordingSid: sid, RecordingDuration: String(durationS), Digits: digits };
  if (v.recordingStatusCallback) {
    call.notify(
      'recording-status',
      call.resolveUrl(v.recordingStatusCallback, ctx),
      v.recordingStatusCallbackMethod,
      {
        AccountSid: core.accountSid,
        CallSid: call.sid,
        RecordingSid: sid,
        RecordingUrl: recordingUrl,
        RecordingStatus: 'completed',
        RecordingDuration: String(durationS),
        RecordingChannels: '1',
        RecordingSource: 'RecordVerb',
        RecordingStartTime: rfc2822(call.clock.now() - ms),
      },
      true,
    );
  }
  const url = v.action ? call.resolveUrl(v.action, ctx) : ctx.docUrl;
  if (rec.hangup) {
    call.hangup('caller');
    if (url) call.notify('record', url, v.method, params);
    scope.throwIfAborted();
  }
  if (!url) return null;
  return { kind: 'goto', target: { kind: 'fetch', url, method: v.method, params, webhookKind: 'record' } };
}
