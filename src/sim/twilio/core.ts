/**
 * What a call, a queue and a conference need from the emulator. The emulator implements it; the other
 * modules only import its type, so there is no runtime import cycle.
 */
import type { Clock } from '../../clock.js';
import type { Call } from './call.js';
import type { ConferenceRegistry } from './conference.js';
import type { QueueRegistry } from './queue.js';
import type { Random } from './random.js';
import type { RecordingRegistry } from './recordings.js';
import type { EmulatorError, EndpointConfig, StatusCallbackFaults } from './types.js';
import type { SendRequest, WebhookClient } from './webhooks.js';

export interface Settings {
  wordsPerMinute: number;
  minSayMs: number;
  playDurationMs: (url: string) => number;
  statusShuffleMaxMs: number;
}

export type ErrorInput = Omit<EmulatorError, 'at'>;

export interface Core {
  readonly clock: Clock;
  readonly accountSid: string;
  readonly settings: Settings;
  /** SIDs and tokens. */
  readonly sids: Random;
  /** Fault decisions and other emulator-side randomness. */
  readonly random: Random;
  readonly hooks: WebhookClient;
  readonly queueRegistry: QueueRegistry;
  readonly conferenceRegistry: ConferenceRegistry;
  readonly recordingRegistry: RecordingRegistry;
  /** Every call by SID (ended ones included). */
  readonly calls: ReadonlyMap<string, Call>;
  readonly statusFaults: StatusCallbackFaults;
  recordError(e: ErrorInput, call?: Call): EmulatorError;
  registerCall(call: Call): void;
  callEnded(call: Call): void;
  /** The endpoint that answers a dialed address (registered endpoint, simulated caller, or the default). */
  resolveEndpoint(address: string): EndpointConfig;
  /** Send a status callback (call or conference), honouring the shuffle/duplicate faults. */
  sendStatusCallback(req: SendRequest, track: (p: Promise<unknown>) => void): void;
}

/** Twilio's default classical hold music, played (not fetched) when no waitUrl / holdUrl is given. */
export const DEFAULT_HOLD_MUSIC = 'http://com.twilio.music.classical.s3.amazonaws.com/';

/** RFC 2822 date as Twilio writes it: "Mon, 05 Jan 2026 09:00:00 +0000". */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** How long Twilio takes to say `text`: ~wordsPerMinute, at least minMs (1 s). */
export function sayDurationMs(text: string, wordsPerMinute: number, minMs = 1000): number {
  const words = text.split(/\s+/).filter(Boolean).length;
  return Math.max(minMs, Math.round((words / wordsPerMinute) * 60_000));
}

/** Pick a value from a Sampled (a number, or a function drawn each time). */
export function sample(v: number | (() => number) | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'function' ? v() : v;
  return Number.isFinite(n) ? Math.max(0, n) : dflt;
}
