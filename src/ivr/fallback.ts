/**
 * What a caller hears when something inside Switchboard fails (Redis down, a bug, a timeout): the
 * configured apology, then the transfer number or voicemail. Pure and allocation-light, so it can be
 * produced when nothing else works.
 */
import type { CenterConfig } from '../config/callcenter.js';
import { newResponse, speak } from './prompt.js';
import { dialOut } from './step.js';

/** Fallback TwiML for a live call. `recordUrl` receives the voicemail when no transfer number is set. */
export function fallbackTwiml(center: CenterConfig, recordUrl: string, language?: string): string {
  const twiml = newResponse();
  const lang = language && center.languages[language] ? language : center.defaultLanguage;
  speak(twiml, center, center.fallback.prompt, lang);
  if (center.fallback.transferTo) {
    dialOut(twiml, center.fallback.transferTo);
  } else if (center.fallback.voicemail) {
    twiml.record({ action: recordUrl, method: 'POST', maxLength: 120, playBeep: true, finishOnKey: '#' });
  }
  twiml.hangup();
  return twiml.toString();
}

/**
 * Fallback for a caller waiting in a Twilio queue (the Enqueue waitUrl, and the keys pressed there): a
 * segment of hold music and nothing else, so the caller keeps their place in Twilio's queue and Twilio
 * requests the waitUrl again when it ends. The apology of `fallbackTwiml` would take them out of the queue
 * (and `<Record>` is not allowed in a waitUrl document).
 */
export function waitFallbackTwiml(center: CenterConfig): string {
  const twiml = newResponse();
  twiml.play({ loop: 1 }, center.holdMusic.url);
  return twiml.toString();
}
