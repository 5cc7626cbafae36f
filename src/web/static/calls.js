// @ts-check
// Live calls for supervisors: the connected calls from GET /api/calls (bearer supervisor token), refreshed
// on every snapshot of /supervisor/ws (docs/supervisor-socket.md) and polled while the socket is away, and
// Listen / Coach / Barge / Stop through POST /api/calls/{CallSid}/monitor, which dials the supervisor's
// phone into the call's conference. Durations run on the server's clock.
import { clearFragment, duration, el, element, liveSocket, serverClock, setText, tokenFromFragment } from './live.js';

/**
 * @typedef {Awaited<ReturnType<import('../../api/monitor-routes.js').MonitorDeps['liveCalls']>>[number]} LiveCall
 * @typedef {import('../../events.js').MonitorMode} MonitorMode
 * @typedef {import('../wallboard.js').WallboardSnapshot | import('../../errors.js').SocketError | { type: 'pong' } | { type: 'reconnect' }} SupervisorMessage
 * @typedef {{ error?: string, field?: string, message?: string }} ErrorBody
 */

/** @param {string} id */
const $ = (id) => element(id, HTMLElement);
const dialTo = () => element('dial-to', HTMLInputElement);
const TOKEN_KEY = 'switchboard.calls.token';
const DIAL_KEY = 'switchboard.calls.dialTo';
const POLL_MS = 5000;
/** @type {[Exclude<MonitorMode, 'stop'>, string, string][]} */
const MODES = [
  ['listen', 'Listen', 'Listening (muted)'],
  ['coach', 'Coach', 'Coaching (only the agent hears you)'],
  ['barge', 'Barge', 'Barged in (everyone hears you)'],
];
/** @type {Record<string, string>} */
const MODE_DONE = Object.fromEntries(MODES.map(([m, , done]) => [m, done]));
/** @type {Record<string, string>} */
const STATUS_LABEL = { talking: 'Talking', on_hold: 'On hold' };

let token = '';
/** @type {import('./live.js').LiveSocket | null} */
let socket = null;
/** @type {LiveCall[]} */
let calls = [];
/** @type {Map<string, string>} agent id → name, from the socket's snapshots */
const agentNames = new Map();
/** @type {Map<string, string>} queue id → name */
const queueNames = new Map();
/** @type {Map<string, { mode: MonitorMode, to: string }>} callSid → the supervisor's leg on that call, as this page set it */
const lines = new Map();
/** @type {Map<string, { text: string, error: boolean }>} callSid → what the row's "Your line" cell shows */
const notes = new Map();
/** @type {Set<string>} callSids with a monitor request in flight */
const busy = new Set();
let fetching = false;
let fetchAgain = false;

const auth = () => ({ authorization: `Bearer ${token}` });

/**
 * @param {HTMLTableCellElement | undefined} cell
 * @param {string} text
 */
function setCell(cell, text) {
  if (cell && cell.textContent !== text) cell.textContent = text;
}

/** @param {string} message */
function showSignIn(message) {
  if (socket) socket.stop();
  socket = null;
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  setText('signin-error', message);
  $('signin').hidden = false;
  $('board').hidden = true;
  $('conn').dataset.status = 'closed';
  setText('conn', 'Not signed in');
  $('conn-lost').hidden = true;
  element('token', HTMLInputElement).focus();
}

/**
 * Why a sign-in or request was refused, in words; null when the response is fine.
 * @param {Response} res
 */
async function refusal(res) {
  if (res.status === 401) return 'That token was not accepted (a supervisor token is needed).';
  if (res.status === 403) return 'That is not a supervisor token: live calls need the supervisor token.';
  if (res.status === 429) {
    /** @type {ErrorBody} */
    const b = await res.json().catch(() => ({}));
    return `Too many failed sign-ins from here: ${b.message ?? 'try again later'}`;
  }
  return null;
}

/**
 * The table row of a call, made once and kept (its buttons keep focus across refreshes).
 * @param {LiveCall} c
 * @returns {HTMLTableRowElement}
 */
function row(c) {
  const id = `call-${c.callSid}`;
  const found = document.getElementById(id);
  if (found instanceof HTMLTableRowElement) return found;
  const tr = document.createElement('tr');
  tr.id = id;
  tr.append(
    el('th', { scope: 'row', id: `${id}-agent` }),
    el('td', { class: 'queue-name' }),
    el('td', { class: 'status' }),
    el('td', { class: 'timer' }),
  );
  const actions = el('td');
  const group = el('div', { role: 'group', class: 'group', 'aria-labelledby': `calls-monitor ${id}-agent` });
  for (const [mode, label] of MODES) {
    const b = el('button', { type: 'button', 'data-mode': mode, 'aria-pressed': 'false', 'aria-describedby': `${id}-agent` }, label);
    b.addEventListener('click', () => void act(c.callSid, mode));
    group.append(b);
  }
  const stop = el(
    'button',
    { type: 'button', class: 'danger', 'data-mode': 'stop', 'aria-disabled': 'true', 'aria-describedby': `${id}-agent` },
    'Stop',
  );
  stop.addEventListener('click', () => void act(c.callSid, 'stop'));
  group.append(stop);
  actions.append(group);
  tr.append(actions, el('td', { class: 'line message', id: `${id}-line`, 'aria-live': 'polite' }));
  // The recording (queues that record): its state, and Pause / Resume through the recording API.
  const rec = el('td', { class: 'recording' });
  const recState = el('span', { class: 'rec-state', 'aria-live': 'polite' });
  const recButton = el('button', { type: 'button', class: 'rec-toggle', 'aria-describedby': `${id}-agent`, hidden: '' }, 'Pause');
  recButton.addEventListener('click', () => void recording(c.callSid));
  rec.append(recState, ' ', recButton);
  tr.append(rec);
  return tr;
}

function render() {
  const body = element('calls', HTMLTableSectionElement);
  const now = serverClock.now();
  const keep = new Set(calls.map((c) => c.callSid));
  for (const tr of [...body.rows]) {
    if (keep.has(tr.id.slice('call-'.length))) continue;
    const hadFocus = tr.contains(document.activeElement);
    tr.remove();
    if (hadFocus) $('calls-title').focus();
  }
  calls.forEach((c, i) => {
    const tr = row(c);
    if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] ?? null);
    tr.dataset.state = c.state;
    setCell(tr.cells[0], agentNames.get(c.agentId) ?? c.agentId);
    setCell(tr.cells[1], queueNames.get(c.queue) ?? c.queue);
    setCell(tr.cells[2], STATUS_LABEL[c.state] ?? c.state);
    setCell(tr.cells[3], typeof c.since === 'number' ? duration((now - c.since) / 1000) : '—');
    const line = lines.get(c.callSid);
    for (const b of tr.querySelectorAll('button[data-mode]')) {
      if (!(b instanceof HTMLButtonElement)) continue;
      const mode = b.dataset.mode;
      if (mode === 'stop') b.setAttribute('aria-disabled', String(!line || busy.has(c.callSid)));
      else {
        b.setAttribute('aria-pressed', String(line?.mode === mode));
        b.setAttribute('aria-disabled', String(busy.has(c.callSid)));
      }
    }
    const note = notes.get(c.callSid);
    const cell = tr.cells[5];
    setCell(cell, note ? note.text : line ? `${MODE_DONE[line.mode]} · ${line.to}` : '—');
    cell?.classList.toggle('error', Boolean(note?.error));
    const recState = tr.querySelector('.rec-state');
    const recButton = tr.querySelector('.rec-toggle');
    if (recState) recState.textContent = c.recording === 'paused' ? 'Paused' : c.recording === 'in-progress' ? 'Recording' : '—';
    if (recButton instanceof HTMLButtonElement) {
      recButton.hidden = !c.recording;
      recButton.textContent = c.recording === 'paused' ? 'Resume recording' : 'Pause recording';
      recButton.setAttribute('aria-pressed', String(c.recording === 'paused'));
      recButton.setAttribute('aria-disabled', String(busy.has(c.callSid)));
    }
  });
  setText('calls-caption', calls.length === 0 ? 'No live calls' : `${calls.length} live call${calls.length === 1 ? '' : 's'}`);
}
setInterval(render, 1000);

async function refresh() {
  if (!token) return;
  if (fetching) {
    fetchAgain = true;
    return;
  }
  fetching = true;
  try {
    const res = await fetch('/api/calls', { headers: auth(), cache: 'no-store' });
    const why = await refusal(res);
    if (why) return showSignIn(why);
    if (!res.ok) return;
    calls = (await res.json()).calls ?? [];
    // The server knows which supervisor lines are up: this supervisor's (dialed at "Dial me at") shows its
    // mode after a reload, and a line the supervisor hung up on their phone is shown gone.
    const me = dialTo().value.trim();
    for (const c of calls) {
      const mine = (c.monitors ?? []).find((m) => m.to === (lines.get(c.callSid)?.to ?? me));
      if (mine) lines.set(c.callSid, { mode: mine.mode, to: mine.to });
      else if (!busy.has(c.callSid)) lines.delete(c.callSid);
    }
    for (const sid of [...lines.keys(), ...notes.keys()]) {
      if (!calls.some((c) => c.callSid === sid)) {
        lines.delete(sid);
        notes.delete(sid);
      }
    }
    render();
    setText('updated', new Date(serverClock.now()).toLocaleTimeString());
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? 0) + 1);
  } catch {
    // The server is away: the socket's banner says so, and the next snapshot or poll tries again.
  } finally {
    fetching = false;
    if (fetchAgain) {
      fetchAgain = false;
      void refresh();
    }
  }
}
setInterval(() => {
  if (token && !socket?.isOpen()) void refresh();
}, POLL_MS);

/** @param {string} text */
function dialError(text) {
  setText('dial-error', text);
  if (text) dialTo().setAttribute('aria-invalid', 'true');
  else dialTo().removeAttribute('aria-invalid');
}

/**
 * @param {string} callSid
 * @param {MonitorMode} mode
 */
async function act(callSid, mode) {
  if (busy.has(callSid)) return;
  const line = lines.get(callSid);
  if (mode === 'stop' && !line) return;
  // A leg already up is changed in place (same address); the field is for the next call to your phone.
  const to = line ? line.to : dialTo().value.trim();
  if (!to) {
    dialError('Dial me at: enter client:name, a +E.164 number or a sip: address first.');
    dialTo().focus();
    return;
  }
  busy.add(callSid);
  notes.set(callSid, {
    text: mode === 'stop' ? 'Hanging up your line…' : line ? `Switching to ${mode}…` : `Dialing ${to} to ${mode}…`,
    error: false,
  });
  render();
  try {
    const res = await fetch(`/api/calls/${encodeURIComponent(callSid)}/monitor`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ mode, to }),
    });
    const why = res.status === 400 || res.status === 404 ? null : await refusal(res);
    if (why) return showSignIn(why);
    /** @type {ErrorBody} */
    const b = await res.json().catch(() => ({}));
    if (res.ok) {
      if (mode === 'stop') lines.delete(callSid);
      else lines.set(callSid, { mode, to });
      notes.delete(callSid);
      if (!line) dialError('');
    } else {
      const field = b.field ?? 'request';
      const message = b.message ?? `${field}: refused (${res.status})`;
      notes.set(callSid, { text: `Not done: ${message}`, error: true });
      if (field === 'to') dialError(message);
    }
  } catch {
    notes.set(callSid, { text: 'Not done: the server did not answer; try again.', error: true });
  } finally {
    busy.delete(callSid);
    render();
    void refresh();
  }
}

/**
 * Pause or resume a call's recording (POST /api/calls/{CallSid}/recording); a refusal shows in "Your line".
 * @param {string} callSid
 */
async function recording(callSid) {
  const c = calls.find((x) => x.callSid === callSid);
  if (!c?.recording || busy.has(callSid)) return;
  const action = c.recording === 'paused' ? 'resume' : 'pause';
  busy.add(callSid);
  render();
  try {
    const res = await fetch(`/api/calls/${encodeURIComponent(callSid)}/recording`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ action }),
    });
    const why = res.status === 400 || res.status === 404 || res.status === 409 ? null : await refusal(res);
    if (why) return showSignIn(why);
    /** @type {ErrorBody} */
    const b = await res.json().catch(() => ({}));
    if (res.ok) notes.delete(callSid);
    else notes.set(callSid, { text: `Recording not changed: ${b.message ?? `refused (${res.status})`}`, error: true });
  } catch {
    notes.set(callSid, { text: 'Recording not changed: the server did not answer; try again.', error: true });
  } finally {
    busy.delete(callSid);
    void refresh();
  }
}

/** @param {SupervisorMessage} msg */
function onMessage(msg) {
  if (msg.type === 'snapshot') {
    serverClock.offset = msg.now - Date.now();
    for (const a of msg.agents ?? []) agentNames.set(a.id, a.name);
    for (const q of msg.queues ?? []) queueNames.set(q.id, q.name);
    void refresh();
  } else if (msg.type === 'error' && (msg.code === 'unauthorized' || msg.code === 'rate_limited')) {
    showSignIn(
      msg.code === 'rate_limited'
        ? `Too many failed sign-ins from here: ${msg.message}`
        : 'That token was not accepted (a supervisor token is needed).',
    );
  }
}

/**
 * @param {import('./live.js').SocketStatus} status
 * @param {import('./live.js').StatusDetail} detail
 */
function onStatus(status, detail) {
  const conn = $('conn');
  const lost = $('conn-lost');
  conn.dataset.status = status;
  if (status === 'open') {
    conn.textContent = detail.reconnected ? 'Live (reconnected)' : 'Live';
    lost.hidden = true;
  } else if (status === 'lost') {
    conn.textContent = 'Disconnected';
    lost.textContent = `Connection lost: the list below may be out of date. Reconnecting automatically (attempt ${detail.attempt})…`;
    lost.hidden = false;
  } else if (status === 'reconnecting' || status === 'connecting') {
    conn.textContent = status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  }
}

/** @param {string} t */
async function signIn(t) {
  if (socket) socket.stop();
  socket = null;
  setText('signin-error', '');
  let res;
  try {
    res = await fetch('/api/calls', { headers: { authorization: `Bearer ${t}` }, cache: 'no-store' });
  } catch {
    setText('signin-error', 'The server did not answer; try again.');
    return;
  }
  const why = await refusal(res);
  if (why || !res.ok) return showSignIn(why ?? `The server refused (${res.status}); try again.`);
  token = t;
  sessionStorage.setItem(TOKEN_KEY, t);
  $('signin').hidden = true;
  $('board').hidden = false;
  await serverClock.sync();
  calls = (await res.json()).calls ?? [];
  render();
  socket = liveSocket({ path: '/supervisor/ws', hello: () => ({ type: 'hello', token: t }), onMessage, onStatus });
  if (!dialTo().value) dialTo().focus();
}

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = element('token', HTMLInputElement).value.trim();
  if (t) void signIn(t);
});

dialTo().value = localStorage.getItem(DIAL_KEY) ?? '';
dialTo().addEventListener('input', () => {
  localStorage.setItem(DIAL_KEY, dialTo().value.trim());
  dialError('');
});
$('calls-title').setAttribute('tabindex', '-1');

const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || '';
clearFragment();
if (initial) void signIn(initial);
