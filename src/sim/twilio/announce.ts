/**
 * Conference announcements (https://www.twilio.com/docs/voice/api/conference-resource, AnnounceUrl, and the
 * participant's announceUrl in node_modules/twilio/lib/rest/api/v2010/account/conference/participant.d.ts:
 * an MP3 or WAV file, or TwiML with Play, Say, Pause or Redirect): the document is requested once with
 * AccountSid, ConferenceSid, FriendlyName (and CallSid for one participant) and played to the whole
 * conference or to one participant; announcement-end follows.
 *
 * Decided here: a Redirect in the announcement is not followed (12100); an announcement that fails to load
 * is an error on the debugger (11200 / 11205 / 12100) and plays nothing.
 */
import type { Conference, Participant } from './conference.js';
import { emitConferenceEvent } from './conference-events.js';
import { sayDurationMs, type Core } from './core.js';
import { parseTwiml, TwimlError } from './twiml.js';
import type { HttpMethod } from './types.js';

/**
 * Fetch an announcement (Say/Play/Pause) once and play it to the given participants (all connected ones
 * when omitted). Texts go to each participant's `heard`; announcement-end follows after its duration.
 */
export async function announce(core: Core, conf: Conference, url: string, method: HttpMethod, targets?: Participant[]): Promise<void> {
  const params: Record<string, string> = {
    AccountSid: core.accountSid,
    ConferenceSid: conf.sid,
    FriendlyName: conf.friendlyName,
  };
  if (targets?.length === 1 && targets[0]) params.CallSid = targets[0].callSid;
  const res = await core.hooks.send({ kind: 'announce', url, method, params, callSid: params.CallSid });
  const docErr = (code: number, message: string, kind: 'http' | 'twiml' | 'content-type', document?: string): void => {
    core.recordError({ code, level: 'error', message, url, kind, document, callSid: params.CallSid });
  };
  if (!res.ok) return docErr(res.failure === 'timeout' ? 11200 : 11205, `announceUrl: ${res.message}`, 'http');
  if (res.status < 200 || res.status > 299) return docErr(11200, `announceUrl answered HTTP ${res.status}`, 'http');
  let verbs;
  try {
    verbs = parseTwiml(res.body, { context: 'announce' }).verbs;
  } catch (e) {
    if (e instanceof TwimlError) return docErr(12100, `announceUrl: ${e.message}`, 'twiml', res.body);
    throw e;
  }
  const texts: string[] = [];
  const played: string[] = [];
  let ms = 0;
  for (const v of verbs) {
    if (v.kind === 'Say') {
      for (let i = 0; i < Math.max(1, v.loop); i++) texts.push(v.text);
      ms += sayDurationMs(v.text, core.settings.wordsPerMinute, core.settings.minSayMs) * Math.max(1, v.loop);
    } else if (v.kind === 'Play') {
      if (v.url) played.push(v.url);
      ms += core.settings.playDurationMs(v.url) * Math.max(1, v.loop);
    } else if (v.kind === 'Pause') ms += v.lengthS * 1000;
  }
  const who = targets ?? conf.connected();
  if (!targets) conf.announcements.push(...texts);
  for (const p of who) {
    p.call.heard.push(...texts);
    p.call.played.push(...played);
  }
  core.clock.setTimer(ms, () => emitConferenceEvent(core, conf, 'announcement-end'));
}
