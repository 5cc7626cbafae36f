/**
 * Rendering prompts (text per language, or audio URLs) into TwiML through our TwiML writer (./twiml.ts:
 * the twilio package's VoiceResponse methods and output, written directly). Text is spoken with the
 * language's configured voice.
 */
import type { CenterConfig, Prompt, PromptPart } from '../config/callcenter.js';
import { VoiceResponse, type Gather } from './twiml.js';

export type { Gather, VoiceResponse };
type SayAttrs = Parameters<VoiceResponse['say']>[0];

export const newResponse = (): VoiceResponse => new VoiceResponse();

/** The part of a prompt for a language, falling back to the default language, then to any. */
export function promptFor(center: CenterConfig, prompt: Prompt, language: string): PromptPart {
  if (typeof prompt === 'string' || 'play' in prompt) return prompt as PromptPart;
  const table = prompt as Record<string, PromptPart>;
  return table[language] ?? table[center.defaultLanguage] ?? Object.values(table)[0] ?? '';
}

/** The text of a prompt in a language (for logs and tests); audio parts give their URL. */
export function promptText(center: CenterConfig, prompt: Prompt, language: string): string {
  const p = promptFor(center, prompt, language);
  return typeof p === 'string' ? p : p.play;
}

/** Append a prompt to a Response or a Gather. */
export function speak(
  target: VoiceResponse | Gather,
  center: CenterConfig,
  prompt: Prompt | undefined,
  language: string,
  vars: Record<string, string | number> = {},
): void {
  if (prompt === undefined) return;
  const p = promptFor(center, prompt, language);
  if (typeof p === 'string') {
    const lang = center.languages[language] ?? center.languages[center.defaultLanguage];
    const attrs = { voice: lang?.voice, language: lang?.twilioLanguage } as SayAttrs;
    target.say(attrs, interpolate(p, vars));
  } else {
    target.play({}, p.play);
  }
}

/** Replace `{name}` placeholders; unknown ones are left as they are. */
export function interpolate(text: string, vars: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}
