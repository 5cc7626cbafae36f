/**
 * Every URL Switchboard hands to Twilio. Absolute (PUBLIC_BASE_URL + path) because TwiML given over REST
 * must use absolute URLs, and because signatures are checked against the public URL.
 */
const enc = encodeURIComponent;

export interface Urls {
  base: string;
  voice: string;
  status: string;
  fallback: string;
  fallbackRecord: string;
  gather(node: string): string;
  noInput(node: string): string;
  recorded(node: string): string;
  recordingStatus(node: string): string;
  queueWait(queue: string): string;
  queueResult(queue: string): string;
  queueKeys(queue: string): string;
  queueOverflowRecord(queue: string): string;
  /** After a recording queue's consent prompt, the caller is queued here (a redirect, with how to enter). */
  queueConsented(queue: string, o: { priority: number | undefined; front: boolean; countOffer: boolean }): string;
  /** A caller overflowing from queue `from` enters queue `queue` here (a redirect). */
  queueEnter(queue: string, from: string): string;
  connect(queue: string, offerId: string): string;
  afterCall(queue: string): string;
  survey(step: string): string;
  agentStatus(offerId: string): string;
  callbackLeg(queue: string, offerId: string): string;
  callbackStatus(queue: string, offerId: string): string;
  conferenceStatus: string;
  /** Recording status callback of a call's conference recording (`callSid`: the caller's call). */
  conferenceRecording(callSid: string, queue: string): string;
  holdMusic: string;
  /** A transferred caller re-enters a queue here (redirected out of the conference). */
  transferQueue(queue: string, from: string): string;
  /** Status callback of an outside number dialed into the conference by a transfer. */
  transferStatus(callSid: string): string;
  /** Status callback of a supervisor's monitoring leg. */
  monitorStatus(callSid: string): string;
}

/** Build the URL set for a public base URL (no trailing slash). */
export function createUrls(base: string): Urls {
  return {
    base,
    voice: `${base}/twilio/voice`,
    status: `${base}/twilio/status`,
    fallback: `${base}/twilio/fallback`,
    fallbackRecord: `${base}/twilio/fallback/recorded`,
    gather: (node) => `${base}/twilio/ivr/gather?node=${enc(node)}`,
    noInput: (node) => `${base}/twilio/ivr/gather?node=${enc(node)}&noInput=1`,
    recorded: (node) => `${base}/twilio/ivr/recorded?node=${enc(node)}`,
    recordingStatus: (node) => `${base}/twilio/recording?node=${enc(node)}`,
    queueWait: (q) => `${base}/twilio/queue/wait?queue=${enc(q)}`,
    queueResult: (q) => `${base}/twilio/queue/result?queue=${enc(q)}`,
    queueKeys: (q) => `${base}/twilio/queue/keys?queue=${enc(q)}`,
    queueOverflowRecord: (q) => `${base}/twilio/queue/voicemail?queue=${enc(q)}`,
    queueConsented: (q, o) =>
      `${base}/twilio/queue/consented?queue=${enc(q)}${o.priority === undefined ? '' : `&priority=${o.priority}`}&front=${o.front ? 1 : 0}&offer=${o.countOffer ? 1 : 0}`,
    queueEnter: (q, from) => `${base}/twilio/queue/enter?queue=${enc(q)}&from=${enc(from)}`,
    connect: (q, offerId) => `${base}/twilio/queue/connect?queue=${enc(q)}&offer=${enc(offerId)}`,
    afterCall: (q) => `${base}/twilio/call/after?queue=${enc(q)}`,
    survey: (step) => `${base}/twilio/survey?step=${enc(step)}`,
    agentStatus: (offerId) => `${base}/twilio/agent/status?offer=${enc(offerId)}`,
    callbackLeg: (q, offerId) => `${base}/twilio/callback/leg?queue=${enc(q)}&offer=${enc(offerId)}`,
    callbackStatus: (q, offerId) => `${base}/twilio/callback/status?queue=${enc(q)}&offer=${enc(offerId)}`,
    conferenceStatus: `${base}/twilio/conference/status`,
    conferenceRecording: (sid, q) => `${base}/twilio/conference/recording?call=${enc(sid)}&queue=${enc(q)}`,
    holdMusic: `${base}/twilio/hold`,
    transferQueue: (q, from) => `${base}/twilio/transfer/queue?queue=${enc(q)}&from=${enc(from)}`,
    transferStatus: (sid) => `${base}/twilio/transfer/status?call=${enc(sid)}`,
    monitorStatus: (sid) => `${base}/twilio/monitor/status?call=${enc(sid)}`,
  };
}
