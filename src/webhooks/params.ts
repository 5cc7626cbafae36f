/**
 * zod schemas for what Twilio sends (Twilio's voice request parameters). Checked after the signature;
 * unknown parameters are accepted (Twilio adds parameters at any time) and left out of the parsed result,
 * since handlers read only these: copying Twilio's ~27 parameters into it cost 4× the validation itself.
 * Handlers that need an unlisted parameter (the fallback URL's ErrorUrl) read the form body.
 */
import { z } from 'zod';
import { CALL_STATUSES } from '../call-status.js';

const sid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`);
const party = z.string().max(256);
const intString = z.coerce.number().int().min(0).max(10_000_000);

export const callStatus = z.enum(CALL_STATUSES);

export const baseParams = z.object({
  CallSid: sid('CA'),
  AccountSid: sid('AC'),
  From: party.default(''),
  To: party.default(''),
  CallStatus: callStatus.optional(),
  Direction: z.string().max(32).optional(),
});
export type BaseParams = z.infer<typeof baseParams>;

export const gatherParams = baseParams.extend({
  Digits: z
    .string()
    .regex(/^[0-9*#]{0,64}$/, 'digits 0-9, * and # only')
    .optional(),
  SpeechResult: z.string().max(4000).optional(),
  Confidence: z.coerce.number().min(0).max(1).optional(),
});

export const statusParams = baseParams.extend({
  CallStatus: callStatus,
  SequenceNumber: intString.optional(),
  CallDuration: intString.optional(),
  Timestamp: z.string().max(64).optional(),
});
export type StatusParams = z.infer<typeof statusParams>;

export const recordingParams = baseParams.extend({
  RecordingSid: sid('RE').optional(),
  RecordingUrl: z.string().url().max(1024).optional(),
  RecordingDuration: intString.optional(),
  RecordingStatus: z.string().max(32).optional(),
});

export const queueWaitParams = baseParams.extend({
  QueuePosition: intString.optional(),
  QueueSid: sid('QU').optional(),
  QueueTime: intString.optional(),
  AvgQueueTime: intString.optional(),
  CurrentQueueSize: intString.optional(),
});

export const queueResultParams = baseParams.extend({
  QueueResult: z.enum([
    'bridged',
    'bridging-in-process',
    'hangup',
    'leave',
    'redirected',
    'redirected-from-bridged',
    'queue-full',
    'error',
    'system-error',
  ]),
  QueueSid: sid('QU').optional(),
  QueueTime: intString.optional(),
});

export const dialResultParams = baseParams.extend({
  DialCallStatus: z.enum(['completed', 'answered', 'busy', 'no-answer', 'failed', 'canceled']).optional(),
  DialCallSid: sid('CA').optional(),
  DialCallDuration: intString.optional(),
});

export const conferenceStatusParams = z.object({
  AccountSid: sid('AC'),
  ConferenceSid: sid('CF'),
  FriendlyName: z.string().min(1).max(128),
  StatusCallbackEvent: z.enum([
    'conference-start',
    'conference-end',
    'participant-join',
    'participant-leave',
    'participant-hold',
    'participant-unhold',
    'participant-mute',
    'participant-unmute',
    'participant-modify',
    'participant-speech-start',
    'participant-speech-stop',
    'announcement-end',
    'announcement-fail',
  ]),
  CallSid: sid('CA').optional(),
  SequenceNumber: intString.optional(),
  Hold: z.enum(['true', 'false']).optional(),
  Muted: z.enum(['true', 'false']).optional(),
  Coaching: z.enum(['true', 'false']).optional(),
});
