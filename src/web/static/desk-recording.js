// @ts-check
// The desk's recording control: in a queue that records, the current call shows whether its recording runs
// or is paused (and by whom), and one button pauses or resumes it (`recording` command, docs/agent-protocol.md).
import { setText } from './live.js';
import { $, button, command, desk } from './desk-state.js';

/** @typedef {Extract<import('./desk-state.js').ServerMessage, { type: 'recording' }>} RecordingMessage */

/** The call's recording as the server last said: `in-progress` or `paused`; null when none runs. */
/** @type {{ callSid: string, status: 'in-progress' | 'paused' } | null} */
let shown = null;

/** Hide the control (a new call, or no call). */
export function resetRecording() {
  shown = null;
  $('call-recording-row').hidden = true;
  button('btn-recording').hidden = true;
}

/** @param {RecordingMessage} msg */
export function showRecording(msg) {
  if (!desk.call || desk.call.callSid !== msg.callSid || msg.status === 'ended') {
    if (!shown || shown.callSid === msg.callSid) resetRecording();
    return;
  }
  shown = { callSid: msg.callSid, status: msg.status };
  const paused = msg.status === 'paused';
  setText('call-recording', paused ? `Paused${msg.by === 'supervisor' ? ' by a supervisor' : ''}` : 'Recording');
  $('call-recording-row').hidden = false;
  const b = button('btn-recording');
  b.hidden = false;
  b.disabled = false;
  b.textContent = paused ? 'Resume recording' : 'Pause recording';
  b.setAttribute('aria-pressed', String(paused));
}

$('btn-recording').addEventListener('click', () => {
  if (!shown || !desk.call || desk.call.callSid !== shown.callSid) return;
  if (command({ type: 'recording', action: shown.status === 'paused' ? 'resume' : 'pause', callSid: shown.callSid }))
    button('btn-recording').disabled = true;
});
