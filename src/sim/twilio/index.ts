/** The Twilio emulator: see emulator.ts. */
export { createTwilioEmulator, TwilioEmulator, type EmulatorLog, type OutboundCallOptions } from './emulator.js';
export { Call, APP_ERROR_TEXT, type CallActivity, type RingOutcome } from './call.js';
export { Conference, Participant, type ConferenceEvent, type LeaveReason } from './conference.js';
export { EmuQueue, type QueueMember } from './queue.js';
export { Faults } from './faults.js';
export { Random } from './random.js';
export { runUntil, advance, type RunOptions } from './drive.js';
export { signingUrl, signRequest, validateSignature, checkBasicAuth } from './signing.js';
export { parseTwiml, TwimlError, ALLOWED, type Verb, type ParsedTwiml } from './twiml.js';
export { parseXml, XmlError, type XmlElement } from './xml.js';
export { DEFAULT_HOLD_MUSIC, rfc2822, sayDurationMs } from './core.js';
export * from './callers.js';
export type * from './types.js';
