/**
 * The TwiML vocabulary the emulator runs: verbs and nouns as typed values (Twilio's defaults applied by
 * twiml.ts), the attributes each accepts, and which verbs a document may use in each context.
 *
 * Contexts: a call's own documents take every verb below (https://www.twilio.com/docs/voice/twiml); a queue's
 * waitUrl Play, Say, Pause, Hangup, Redirect, Leave and Gather (https://www.twilio.com/docs/voice/twiml/enqueue,
 * attribute waitUrl); a `<Queue url>` document Play, Say, Pause and Redirect
 * (https://www.twilio.com/docs/voice/twiml/queue, attribute url); a conference waitUrl Play, Say, Pause and
 * Redirect (https://www.twilio.com/docs/voice/twiml/conference, attribute waitUrl); a HoldUrl Play, Say, Pause
 * and Redirect (node_modules/twilio/lib/rest/api/v2010/account/conference/participant.d.ts, holdUrl). Decided
 * here: an AnnounceUrl document takes Play, Say and Pause (Twilio also allows Redirect there, not emulated);
 * a `<Number url>` whisper Play, Say, Pause, Gather, Hangup and Redirect (Twilio lists none). Attribute names
 * are those of each verb's page; an unknown one is a warning, as Twilio's 12200 family.
 */
import type { DocContext, HttpMethod, StatusEvent } from './types.js';

export interface SayVerb {
  kind: 'Say';
  text: string;
  loop: number;
  voice?: string;
  language?: string;
}
export interface PlayVerb {
  kind: 'Play';
  url: string;
  loop: number;
  digits?: string;
}
export interface PauseVerb {
  kind: 'Pause';
  lengthS: number;
}
export type PromptVerb = SayVerb | PlayVerb | PauseVerb;
export interface GatherVerb {
  kind: 'Gather';
  action?: string;
  method: HttpMethod;
  timeoutS: number;
  finishOnKey: string;
  numDigits?: number;
  input: Array<'dtmf' | 'speech'>;
  hints?: string;
  language?: string;
  speechTimeout: 'auto' | number;
  actionOnEmptyResult: boolean;
  prompts: PromptVerb[];
}
export interface RedirectVerb {
  kind: 'Redirect';
  url: string;
  method: HttpMethod;
}
export interface RecordVerb {
  kind: 'Record';
  action?: string;
  method: HttpMethod;
  timeoutS: number;
  finishOnKey: string;
  maxLengthS: number;
  playBeep: boolean;
  recordingStatusCallback?: string;
  recordingStatusCallbackMethod: HttpMethod;
}
export interface HangupVerb {
  kind: 'Hangup';
}
export interface RejectVerb {
  kind: 'Reject';
  reason: 'rejected' | 'busy';
}
export interface LeaveVerb {
  kind: 'Leave';
}
export interface EnqueueVerb {
  kind: 'Enqueue';
  name: string;
  action?: string;
  method: HttpMethod;
  waitUrl?: string;
  waitUrlMethod: HttpMethod;
  maxQueueSize?: number;
}
export interface EndpointNoun {
  kind: 'Number' | 'Client' | 'Sip';
  /** Address as registered with the emulator: '+1555…', 'client:alice', 'sip:…'. */
  address: string;
  url?: string;
  method: HttpMethod;
  statusCallback?: string;
  statusCallbackMethod: HttpMethod;
  statusCallbackEvents: StatusEvent[];
  sendDigits?: string;
}
export interface ConferenceNoun {
  kind: 'Conference';
  name: string;
  muted: boolean;
  beep: 'true' | 'false' | 'onEnter' | 'onExit';
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  /** undefined = Twilio's default hold music; '' = silence. */
  waitUrl?: string;
  waitMethod: HttpMethod;
  maxParticipants: number;
  coach?: string;
  statusCallback?: string;
  statusCallbackMethod: HttpMethod;
  statusCallbackEvents: string[];
  participantLabel?: string;
  /** record="record-from-start" (default do-not-record). */
  recordFromStart: boolean;
  recordingStatusCallback?: string;
  recordingStatusCallbackMethod: HttpMethod;
  /** in-progress, completed, absent; default completed. */
  recordingStatusCallbackEvents: string[];
}
export interface QueueNoun {
  kind: 'Queue';
  name: string;
  url?: string;
  method: HttpMethod;
}
export type DialNoun = EndpointNoun | ConferenceNoun | QueueNoun;
export interface DialVerb {
  kind: 'Dial';
  action?: string;
  method: HttpMethod;
  timeoutS: number;
  callerId?: string;
  timeLimitS: number;
  nouns: DialNoun[];
}
export type Verb =
  SayVerb | PlayVerb | PauseVerb | GatherVerb | RedirectVerb | RecordVerb | HangupVerb | RejectVerb | LeaveVerb | EnqueueVerb | DialVerb;
export type VerbName = Verb['kind'];

export const TOP: readonly VerbName[] = [
  'Say',
  'Play',
  'Gather',
  'Record',
  'Dial',
  'Enqueue',
  'Leave',
  'Hangup',
  'Redirect',
  'Reject',
  'Pause',
];
export const ALLOWED: Record<DocContext, readonly VerbName[]> = {
  top: TOP,
  waitUrl: ['Play', 'Say', 'Pause', 'Hangup', 'Redirect', 'Leave', 'Gather'],
  dialQueueUrl: ['Play', 'Say', 'Pause', 'Redirect'],
  conferenceWait: ['Play', 'Say', 'Pause', 'Redirect'],
  hold: ['Play', 'Say', 'Pause', 'Redirect'],
  announce: ['Play', 'Say', 'Pause'],
  whisper: ['Play', 'Say', 'Pause', 'Gather', 'Hangup', 'Redirect'],
};
/** Valid TwiML that the emulator does not run: a 12100 here, with a clear message. */
export const NOT_EMULATED = ['Connect', 'Start', 'Stop', 'Pay', 'Prompt', 'Refer', 'Sms', 'Message', 'Echo', 'Siprec', 'Stream'];

export const SSML = new Set([
  'break',
  'emphasis',
  'lang',
  'p',
  'phoneme',
  'prosody',
  's',
  'say-as',
  'sub',
  'w',
  'amazon:domain',
  'amazon:effect',
]);

export const ATTRS: Record<string, readonly string[]> = {
  Say: ['voice', 'language', 'loop'],
  Play: ['loop', 'digits'],
  Pause: ['length'],
  Gather: [
    'action',
    'method',
    'timeout',
    'finishOnKey',
    'numDigits',
    'input',
    'hints',
    'language',
    'speechTimeout',
    'speechModel',
    'profanityFilter',
    'partialResultCallback',
    'partialResultCallbackMethod',
    'actionOnEmptyResult',
    'enhanced',
    'bargeIn',
    'debug',
    'maxSpeechTime',
  ],
  Record: [
    'action',
    'method',
    'timeout',
    'finishOnKey',
    'maxLength',
    'playBeep',
    'trim',
    'recordingStatusCallback',
    'recordingStatusCallbackMethod',
    'recordingStatusCallbackEvent',
    'transcribe',
    'transcribeCallback',
  ],
  Redirect: ['method'],
  Hangup: [],
  Reject: ['reason'],
  Leave: [],
  Enqueue: ['action', 'method', 'waitUrl', 'waitUrlMethod', 'workflowSid', 'maxQueueSize'],
  Dial: [
    'action',
    'method',
    'timeout',
    'hangupOnStar',
    'timeLimit',
    'callerId',
    'record',
    'trim',
    'recordingStatusCallback',
    'recordingStatusCallbackMethod',
    'recordingStatusCallbackEvent',
    'answerOnBridge',
    'ringTone',
    'recordingTrack',
    'sequential',
    'referUrl',
    'referMethod',
    'events',
  ],
  Number: [
    'sendDigits',
    'url',
    'method',
    'statusCallbackEvent',
    'statusCallback',
    'statusCallbackMethod',
    'byoc',
    'machineDetection',
    'amdStatusCallback',
    'amdStatusCallbackMethod',
    'machineDetectionTimeout',
  ],
  Client: ['url', 'method', 'statusCallbackEvent', 'statusCallback', 'statusCallbackMethod'],
  Sip: [
    'username',
    'password',
    'url',
    'method',
    'statusCallbackEvent',
    'statusCallback',
    'statusCallbackMethod',
    'machineDetection',
    'amdStatusCallback',
    'amdStatusCallbackMethod',
    'machineDetectionTimeout',
  ],
  Conference: [
    'muted',
    'beep',
    'startConferenceOnEnter',
    'endConferenceOnExit',
    'waitUrl',
    'waitMethod',
    'maxParticipants',
    'record',
    'region',
    'coach',
    'trim',
    'statusCallbackEvent',
    'statusCallback',
    'statusCallbackMethod',
    'recordingStatusCallback',
    'recordingStatusCallbackMethod',
    'recordingStatusCallbackEvent',
    'eventCallbackUrl',
    'jitterBufferSize',
    'participantLabel',
  ],
  Queue: ['url', 'method', 'reservationSid', 'postWorkActivitySid'],
};
