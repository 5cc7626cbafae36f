// @ts-check
// The desk's transfer controls: the form (queue, agent or outside number; warm or cold), the transfer's
// progress from the server's `transfer` messages, and errors next to the field they name.
import { element, setText } from './live.js';
import { $, button, CALL_LABELS, command, control, desk, form, input, say } from './desk-state.js';

/**
 * @typedef {import('./desk-state.js').Directory} Directory
 * @typedef {import('./desk-state.js').TransferTarget} TransferTarget
 * @typedef {import('./desk-state.js').TransferMessage} TransferMessage
 * @typedef {import('./desk-state.js').ShownTransfer} ShownTransfer
 */

const ACTIVE_TRANSFER = new Set(['sending', 'ringing', 'consulting']);
/** @type {Record<string, string>} */
const KIND_WORDS = { queue: 'queue', agent: 'agent', external: 'outside number' };
/** @type {Record<string, string>} a field an error names → the control to mark */
const FIELD_CONTROLS = {
  'to.queue': 'transfer-queue',
  'to.agentId': 'transfer-agent',
  'to.number': 'transfer-number',
  warm: 'transfer-warm',
};

/** @param {string} id */
export function agentName(id) {
  return desk.directory.agents.find((a) => a.id === id)?.name ?? id;
}

/**
 * @template {{ id: string }} T
 * @param {HTMLSelectElement} el
 * @param {T[]} items
 * @param {(item: T) => string} label
 */
export function fillSelect(el, items, label) {
  const keep = el.value;
  el.replaceChildren(
    ...items.map((it) => {
      const o = document.createElement('option');
      o.value = it.id;
      o.textContent = label(it);
      return o;
    }),
  );
  if (items.some((it) => it.id === keep)) el.value = keep;
}

/** @returns {TransferTarget['kind']} */
function transferKind() {
  const v = document.querySelector('#transfer-form input[name="transfer-kind"]:checked');
  return v instanceof HTMLInputElement && (v.value === 'agent' || v.value === 'external') ? v.value : 'queue';
}

/** Show the target control for the chosen kind (warm to a queue consults the agent that queue would pick). */
export function renderTransferKind() {
  const kind = transferKind();
  $('transfer-queue-group').hidden = kind !== 'queue';
  $('transfer-agent-group').hidden = kind !== 'agent';
  $('transfer-number-group').hidden = kind !== 'external';
  setText(
    'transfer-warm-hint',
    kind === 'queue'
      ? 'Warm: you consult the agent that queue would pick now (someone must be free). Cold: the caller goes to the front of the queue.'
      : 'Warm: you talk to them first while the caller holds. Cold: you leave at once.',
  );
}

export function clearTransferError() {
  setText('transfer-error', '');
  for (const id of Object.values(FIELD_CONTROLS)) $(id).removeAttribute('aria-invalid');
}

/**
 * A refused transfer command: the message next to the form, the field it names marked and focused.
 * @param {{ field?: string, message: string, code?: string }} msg
 */
export function showTransferError(msg) {
  const id = msg.field ? FIELD_CONTROLS[msg.field] : undefined;
  setText('transfer-error', `${msg.message}${msg.code ? ` (${msg.code})` : ''}`);
  if (desk.transfer && desk.transfer.status === 'sending') desk.transfer = null;
  renderTransfer();
  if ($('transfer-controls').hidden) return;
  if (id && !control(id).disabled && !control(id).closest('[hidden]')) {
    control(id).setAttribute('aria-invalid', 'true');
    control(id).focus();
  } else {
    transferFocus();
  }
}

/** The most useful place for the focus in the transfer controls right now. */
function transferFocus() {
  if (!$('transfer-consult').hidden) $(!$('btn-transfer-complete').hidden ? 'btn-transfer-complete' : 'btn-transfer-cancel').focus();
  else if (!element('transfer-fields', HTMLFieldSetElement).disabled) $('btn-transfer').focus();
  else $('transfer-status').focus();
}

/** The transfer controls follow the call (connected or on hold) and the transfer in progress, if any. */
export function renderTransfer() {
  const mine = desk.transfer && desk.call && desk.transfer.callSid === desk.call.callSid ? desk.transfer : null;
  const active = Boolean(mine && ACTIVE_TRANSFER.has(mine.status));
  const show = Boolean(desk.call && (['connected', 'on_hold'].includes(desk.call.status) || active));
  renderCallStatus(mine, active);
  const box = $('transfer-controls');
  const hadFocus = box.contains(document.activeElement);
  box.hidden = !show;
  element('transfer-fields', HTMLFieldSetElement).disabled = active;
  // A warm transfer can be cancelled while the target rings; completed once they answer.
  $('transfer-consult').hidden = !(active && mine?.mode === 'warm' && ['ringing', 'consulting'].includes(mine.status));
  $('btn-transfer-complete').hidden = mine?.status !== 'consulting';
  setText('transfer-status', mine?.note ?? '');
  $('transfer-status').classList.toggle('error', mine?.status === 'failed');
  if (desk.call) button('btn-hold').disabled = active || !['connected', 'on_hold'].includes(desk.call.status);
  // Focus that was on a control now hidden or disabled goes somewhere useful, never to the page body.
  const focused = document.activeElement;
  const lost = focused === document.body || (focused instanceof HTMLButtonElement && focused.disabled) || focused?.closest('[hidden]');
  if (hadFocus && lost) {
    if (show) transferFocus();
    else $('btn-hangup').focus();
  }
}

/**
 * The call's Status line: while a transfer is under way the caller is on hold, whatever the call says.
 * @param {ShownTransfer | null} mine
 * @param {boolean} active
 */
function renderCallStatus(mine, active) {
  if (!desk.call) return;
  let text = CALL_LABELS[desk.call.status] ?? desk.call.status;
  if (active && mine?.status === 'consulting') text = `Consulting ${mine.label} — caller on hold`;
  else if (active && mine) text = `Transferring to ${mine.label} — caller on hold`;
  setText('call-status', text);
}

/** A fresh form; `keep` keeps the last transfer (a cold one reports its outcome after wrap-up starts). */
export function resetTransfer({ keep = false } = {}) {
  if (!keep) desk.transfer = null;
  desk.transferRefs.clear();
  clearTransferError();
  form('transfer-form').reset();
  renderTransferKind();
  renderTransfer();
}

/**
 * Who a transfer goes to: the target the server names (a desk that reconnected), else its kind.
 * @param {TransferMessage} msg
 */
function targetLabel(msg) {
  const to = msg.to;
  if (to?.kind === 'agent' && to.agentId) return agentName(to.agentId);
  if (to?.kind === 'queue' && to.queue) return desk.directory.queues.find((q) => q.id === to.queue)?.name ?? to.queue;
  if (to?.kind === 'external' && to.number) return to.number;
  return `the ${KIND_WORDS[msg.kind] ?? msg.kind}`;
}

/** @param {ShownTransfer} t */
function transferNote(t) {
  const who = t.label;
  switch (t.status) {
    case 'sending':
      return `Transferring to ${who}…`;
    case 'ringing':
      return t.mode === 'warm'
        ? `Ringing ${who}. The caller is on hold; you can talk to ${who} when they answer.`
        : `Ringing ${who}. The caller is on hold until they answer.`;
    case 'consulting':
      return `${who} answered: you are talking to them while the caller holds. Complete the transfer to hand the caller over, or cancel it.`;
    case 'completed':
      return t.kind === 'queue' && t.mode === 'cold'
        ? `Transferred to ${who}: the caller is at the front of the queue.`
        : `Transfer to ${who} completed: the caller is theirs.`;
    case 'cancelled':
      return `Transfer to ${who} cancelled: the caller is back with you.`;
    case 'failed':
      return t.back
        ? `${who} did not take the call: the caller is back with you.`
        : `${who} did not take the call: the caller went back to the front of the queue.`;
    default:
      return `Transfer: ${t.status}`;
  }
}

/**
 * A `transfer` message: progress of this agent's transfer (docs/agent-protocol.md, Transfers).
 * @param {TransferMessage} msg
 */
export function onTransfer(msg) {
  const same = desk.transfer && desk.transfer.callSid === msg.callSid ? desk.transfer : null;
  desk.transfer = {
    callSid: msg.callSid,
    kind: msg.kind,
    mode: msg.mode,
    label: same ? same.label : targetLabel(msg),
    // Still on this desk: a transfer that did not happen brings the caller back here.
    back: Boolean(desk.call && desk.call.callSid === msg.callSid),
    status: msg.status,
  };
  desk.transfer.note = transferNote(desk.transfer) + (msg.reason && msg.status === 'failed' ? ` (${msg.reason.replace(/_/g, ' ')})` : '');
  if (desk.transfer.back) {
    const hadFocus = $('transfer-controls').contains(document.activeElement);
    renderTransfer();
    if (msg.status === 'consulting' || (hadFocus && msg.status === 'ringing')) transferFocus();
  } else {
    // A cold transfer ends after this desk has moved on (wrap-up): say how it went.
    say(desk.transfer.note, msg.status === 'failed');
  }
}

// ---------- transfer controls ----------

for (const radio of document.querySelectorAll('#transfer-form input[name="transfer-kind"]')) {
  radio.addEventListener('change', () => {
    clearTransferError();
    renderTransferKind();
  });
}
for (const id of ['transfer-queue', 'transfer-agent', 'transfer-number', 'transfer-warm'])
  control(id).addEventListener('change', clearTransferError);
$('transfer-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!desk.call || (desk.transfer && desk.transfer.callSid === desk.call.callSid && ACTIVE_TRANSFER.has(desk.transfer.status))) return;
  clearTransferError();
  const kind = transferKind();
  const warm = input('transfer-warm').checked;
  /** @type {TransferTarget} */
  let to;
  let label;
  let value;
  if (kind === 'queue') {
    const queue = control('transfer-queue').value;
    to = { kind, queue };
    value = queue;
    label = desk.directory.queues.find((q) => q.id === queue)?.name ?? queue;
  } else if (kind === 'agent') {
    const agentId = control('transfer-agent').value;
    to = { kind, agentId };
    value = agentId;
    label = agentName(agentId);
  } else {
    const number = input('transfer-number').value.replace(/[\s().-]/g, '');
    to = { kind, number };
    value = number;
    label = number;
  }
  const field = { queue: 'to.queue', agent: 'to.agentId', external: 'to.number' }[kind];
  if (!value) {
    showTransferError({ field, message: `${field}: choose ${kind === 'external' ? 'a number' : `a ${kind}`} to transfer to` });
    return;
  }
  if (kind === 'external' && !/^\+[1-9]\d{6,14}$/.test(value)) {
    showTransferError({ field, message: `${field}: an E.164 number: +, country code and number, e.g. +15551230000` });
    return;
  }
  desk.transfer = { callSid: desk.call.callSid, kind, mode: warm ? 'warm' : 'cold', label, back: true, status: 'sending' };
  desk.transfer.note = transferNote(desk.transfer);
  const ref = command({ type: 'transfer', callSid: desk.call.callSid, to, warm });
  if (!ref) {
    desk.transfer = null;
    renderTransfer();
    return;
  }
  desk.transferRefs.add(ref);
  renderTransfer();
});
$('btn-transfer-complete').addEventListener('click', () => {
  if (!desk.transfer || desk.transfer.status !== 'consulting') return;
  const ref = command({ type: 'transfer_complete', callSid: desk.transfer.callSid });
  if (ref) desk.transferRefs.add(ref);
});
$('btn-transfer-cancel').addEventListener('click', () => {
  if (!desk.transfer || !ACTIVE_TRANSFER.has(desk.transfer.status)) return;
  const ref = command({ type: 'transfer_cancel', callSid: desk.transfer.callSid });
  if (ref) desk.transferRefs.add(ref);
});
