/**
 * The Recording resource over REST: list and read a recording, and update it with Status=paused |
 * in-progress | stopped (+ PauseBehavior), at /Recordings, /Conferences/{ConferenceSid}/Recordings and
 * /Calls/{CallSid}/Recordings; `Twilio.CURRENT` names the active recording. Rules and decisions: recordings.ts.
 */
import type { TwilioEmulator } from './emulator.js';
import { recordingJson, RecordingError, type EmuRecording } from './recordings.js';
import { notFound, one, page, RestError, type Form, type Reply } from './rest-form.js';

/**
 * Requests on a set of recordings (`pool`: the account's, a conference's or a call's); `sid` is the path
 * segment after `Recordings` (undefined for the list).
 */
export function recordingRoutes(
  emu: TwilioEmulator,
  verb: string,
  path: string,
  pool: EmuRecording[],
  sid: string | undefined,
  form: Form,
  query: Form,
): Reply {
  const now = emu.clock.now();
  if (sid === undefined) {
    if (verb !== 'GET') throw notFound(path);
    let recs = [...pool];
    const callSid = one(query.CallSid);
    const conferenceSid = one(query.ConferenceSid);
    if (callSid !== undefined) recs = recs.filter((r) => r.callSid === callSid);
    if (conferenceSid !== undefined) recs = recs.filter((r) => r.conference.sid === conferenceSid);
    recs.reverse();
    return page(
      path,
      query,
      'recordings',
      recs.map((r) => recordingJson(emu.accountSid, r, now)),
    );
  }
  const rec = sid === 'Twilio.CURRENT' ? [...pool].reverse().find((r) => r.live) : pool.find((r) => r.sid === sid);
  if (!rec) throw notFound(path);
  if (verb === 'GET') return { status: 200, body: recordingJson(emu.accountSid, rec, now) };
  if (verb !== 'POST') throw notFound(path);
  try {
    emu.recordingRegistry.update(rec, one(form.Status), one(form.PauseBehavior));
  } catch (e) {
    if (e instanceof RecordingError) throw new RestError(e.status, e.code, e.message);
    throw e;
  }
  return { status: 200, body: recordingJson(emu.accountSid, rec, emu.clock.now()) };
}
