/** JSON shapes of the REST resources, snake_case like Twilio's API (2010-04-01). */
import type { Call } from './call.js';
import type { Conference, Participant } from './conference.js';
import { rfc2822 } from './core.js';
import type { EmuQueue, QueueMember } from './queue.js';

export function accountPath(accountSid: string): string {
  return `/2010-04-01/Accounts/${accountSid}`;
}

export function callJson(accountSid: string, c: Call): Record<string, unknown> {
  const base = `${accountPath(accountSid)}/Calls/${c.sid}`;
  const end = c.endedAt;
  const durationS = c.answeredAt !== undefined && end !== undefined ? Math.round((end - c.answeredAt) / 1000) : undefined;
  return {
    sid: c.sid,
    date_created: rfc2822(c.startedAt),
    date_updated: rfc2822(end ?? c.answeredAt ?? c.startedAt),
    parent_call_sid: c.parentCallSid ?? null,
    account_sid: accountSid,
    to: c.to,
    to_formatted: c.to,
    from: c.from,
    from_formatted: c.from,
    phone_number_sid: null,
    status: c.status,
    start_time: c.answeredAt !== undefined ? rfc2822(c.answeredAt) : null,
    end_time: end !== undefined ? rfc2822(end) : null,
    duration: durationS !== undefined ? String(durationS) : end !== undefined ? '0' : null,
    price: null,
    price_unit: 'USD',
    direction: c.direction,
    answered_by: null,
    api_version: '2010-04-01',
    forwarded_from: c.forwardedFrom ?? null,
    group_sid: null,
    caller_name: c.callerName ?? null,
    queue_time: '0',
    trunk_sid: null,
    uri: `${base}.json`,
    subresource_uris: {
      notifications: `${base}/Notifications.json`,
      recordings: `${base}/Recordings.json`,
      payments: `${base}/Payments.json`,
      events: `${base}/Events.json`,
      siprec: `${base}/Siprec.json`,
      streams: `${base}/Streams.json`,
      user_defined_message_subscriptions: `${base}/UserDefinedMessageSubscriptions.json`,
      user_defined_messages: `${base}/UserDefinedMessages.json`,
    },
  };
}

export function queueJson(accountSid: string, q: EmuQueue, now: number): Record<string, unknown> {
  const base = `${accountPath(accountSid)}/Queues/${q.sid}`;
  return {
    account_sid: accountSid,
    average_wait_time: q.averageWaitS(now),
    current_size: q.size,
    date_created: rfc2822(q.createdAt),
    date_updated: rfc2822(q.updatedAt),
    friendly_name: q.friendlyName,
    max_size: q.maxSize,
    sid: q.sid,
    uri: `${base}.json`,
    subresource_uris: { members: `${base}/Members.json` },
  };
}

export function memberJson(accountSid: string, q: EmuQueue, m: QueueMember, position: number, now: number): Record<string, unknown> {
  return {
    call_sid: m.call.sid,
    date_enqueued: rfc2822(m.enqueuedAt),
    position,
    queue_sid: q.sid,
    uri: `${accountPath(accountSid)}/Queues/${q.sid}/Members/${m.call.sid}.json`,
    wait_time: Math.floor(((m.leftAt ?? now) - m.enqueuedAt) / 1000),
  };
}

export function conferenceJson(accountSid: string, c: Conference): Record<string, unknown> {
  const base = `${accountPath(accountSid)}/Conferences/${c.sid}`;
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    call_sid_ending_conference: c.callSidEndingConference ?? null,
    date_created: rfc2822(c.createdAt),
    date_updated: rfc2822(c.updatedAt),
    friendly_name: c.friendlyName,
    reason_conference_ended: c.reasonConferenceEnded ?? null,
    region: 'us1',
    sid: c.sid,
    status: c.status,
    subresource_uris: { participants: `${base}/Participants.json`, recordings: `${base}/Recordings.json` },
    uri: `${base}.json`,
  };
}

export function participantJson(accountSid: string, p: Participant): Record<string, unknown> {
  const c = p.conference;
  let status: string = p.status;
  if (status === 'queued') status = p.call.status === 'ringing' ? 'ringing' : p.call.status === 'in-progress' ? 'connecting' : 'queued';
  return {
    account_sid: accountSid,
    call_sid: p.callSid,
    call_sid_to_coach: p.callSidToCoach ?? null,
    coaching: p.coaching,
    conference_sid: c.sid,
    date_created: rfc2822(p.dateCreated),
    date_updated: rfc2822(p.dateUpdated),
    end_conference_on_exit: p.endConferenceOnExit,
    hold: p.hold,
    label: p.label ?? null,
    muted: p.muted,
    queue_time: null,
    start_conference_on_enter: p.startConferenceOnEnter,
    status,
    uri: `${accountPath(accountSid)}/Conferences/${c.sid}/Participants/${p.callSid}.json`,
  };
}

export function restError(status: number, code: number, message: string): Record<string, unknown> {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}
