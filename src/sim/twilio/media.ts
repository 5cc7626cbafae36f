/**
 * `<Say>`, `<Play>` and `<Pause>` on a call: what the caller hears (recorded in `heard` / `played`) and how
 * long it takes on the clock.
 *
 * Rules: `loop="0"` repeats until the call ends (https://www.twilio.com/docs/voice/twiml/say and
 * https://www.twilio.com/docs/voice/twiml/play, attribute loop); `<Play digits>` plays DTMF tones, each `w` a
 * half-second wait (https://www.twilio.com/docs/voice/twiml/play, attribute digits); `<Pause length>` waits
 * that many seconds, default 1 (https://www.twilio.com/docs/voice/twiml/pause). Decided here (Twilio documents no speed):
 * speech takes `wordsPerMinute` (at least `minSayMs`), a tone 100 ms; a loop="0" `<Say>` stops after 1000
 * repetitions so a run always ends.
 */
import type { Call } from './call.js';
import { sayDurationMs } from './core.js';
import { forever, sleep, type Scope } from './scope.js';
import type { PlayVerb, PromptVerb, SayVerb } from './twiml.js';

export async function say(call: Call, v: SayVerb, scope: Scope, sink?: string[]): Promise<void> {
  const loops = v.loop === 0 ? 1000 : v.loop;
  const ms = sayDurationMs(v.text, call.core.settings.wordsPerMinute, call.core.settings.minSayMs);
  for (let i = 0; i < loops; i++) {
    if (v.text) {
      call.heard.push(v.text);
      sink?.push(v.text);
    }
    await sleep(call.clock, ms, scope);
  }
}

export async function play(call: Call, v: PlayVerb, scope: Scope): Promise<void> {
  if (v.digits) {
    call.played.push(`digits:${v.digits}`);
    let ms = 0;
    for (const ch of v.digits) ms += ch === 'w' || ch === 'W' ? 500 : 100;
    await sleep(call.clock, ms, scope);
  }
  if (!v.url) return;
  call.played.push(v.url);
  if (v.loop === 0) await forever(scope);
  await sleep(call.clock, call.core.settings.playDurationMs(v.url) * v.loop, scope);
}

/** One prompt (of a `<Gather>`, or a verb of its own); texts said also go to `sink`. */
export async function prompt(call: Call, v: PromptVerb, scope: Scope, sink?: string[]): Promise<void> {
  if (v.kind === 'Say') await say(call, v, scope, sink);
  else if (v.kind === 'Play') await play(call, v, scope);
  else await sleep(call.clock, v.lengthS * 1000, scope);
}
