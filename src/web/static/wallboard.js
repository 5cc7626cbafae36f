// @ts-check
// The supervisor wallboard: snapshots from /supervisor/ws (docs/supervisor-socket.md), no page reloads.
import { clearFragment, duration, el, element, liveSocket, percent, setText, tokenFromFragment } from './live.js';

/**
 * What the supervisor socket sends (src/web/supervisor-socket.ts).
 * @typedef {import('../wallboard.js').WallboardSnapshot} Snapshot
 * @typedef {import('../wallboard.js').WallboardQueue} Queue
 * @typedef {Snapshot | import('../../errors.js').SocketError | { type: 'pong' } | { type: 'reconnect', reason: string, afterMs: number }} SupervisorMessage
 * @typedef {import('./live.js').SocketStatus} SocketStatus
 * @typedef {import('./live.js').StatusDetail} StatusDetail
 */

/** @param {string} id */
const $ = (id) => element(id, HTMLElement);
const TOKEN_KEY = 'switchboard.wallboard.token';
/** @type {[string, string][]} */
const STATES = [
  ['available', 'Available'],
  ['reserved', 'Offer ringing'],
  ['on_call', 'On call'],
  ['wrap_up', 'Wrap-up'],
  ['break', 'Break'],
  ['offline', 'Offline'],
];
/** @type {Record<string, string>} */
const STATE_LABEL = Object.fromEntries(STATES);

/** @type {import('./live.js').LiveSocket | null} */
let socket = null;
/** @type {Snapshot | null} */
let snap = null;
let receivedAt = 0; // browser ms when `snap` arrived: ticking values move from the server's `now`

/**
 * @param {string} id
 * @param {string} label
 * @param {string} [note]
 */
function tile(id, label, note) {
  const t = el('div', { class: 'tile', id: `${id}-tile` });
  t.append(
    el('div', { class: 'label', id: `${id}-label` }, label),
    el('div', { class: 'value', id, 'aria-labelledby': `${id}-label` }, '—'),
  );
  if (note) t.append(el('div', { class: 'note' }, note));
  return t;
}

/** @param {Queue} q */
function queueCard(q) {
  const card = el('section', { class: 'queue', id: `q-${q.id}`, 'aria-labelledby': `q-${q.id}-name` });
  card.append(el('h2', { id: `q-${q.id}-name` }, q.name));
  const tiles = el('div', { class: 'tiles' });
  tiles.append(
    tile(`q-${q.id}-waiting`, 'Calls waiting'),
    tile(`q-${q.id}-longest`, 'Longest wait'),
    tile(`q-${q.id}-sl`, 'Service level today', `answered within ${q.serviceLevelSeconds} s`),
    tile(`q-${q.id}-abandon`, 'Abandoned today', 'short abandons excluded'),
  );
  card.append(tiles, el('p', { class: 'counts', id: `q-${q.id}-counts` }, ''));
  return card;
}

function render() {
  if (!snap) return;
  const target = snap.serviceLevelTarget;
  const now = snap.now + (Date.now() - receivedAt);
  const box = $('queues');
  for (const q of snap.queues) {
    if (!document.getElementById(`q-${q.id}`)) box.append(queueCard(q));
    setText(`q-${q.id}-waiting`, String(q.waiting));
    const longest = q.waiting > 0 ? q.longestWaitSeconds + (Date.now() - receivedAt) / 1000 : 0;
    setText(`q-${q.id}-longest`, duration(longest));
    setText(`q-${q.id}-sl`, percent(q.today.serviceLevel));
    setText(`q-${q.id}-abandon`, percent(q.today.abandonment));
    const slTile = $(`q-${q.id}-sl-tile`);
    slTile.classList.toggle('good', q.today.serviceLevel !== null && q.today.serviceLevel >= target);
    slTile.classList.toggle('bad', q.today.serviceLevel !== null && q.today.serviceLevel < target);
    const t = q.today;
    setText(
      `q-${q.id}-counts`,
      `Today: ${t.offered} offered · ${t.answered} answered (${t.answeredWithinSl} within ${q.serviceLevelSeconds} s) · ${t.abandoned} abandoned (${t.shortAbandoned} short) · ${t.overflow} overflow · ${t.callback} callbacks` +
        (q.callbacksPending ? ` · ${q.callbacksPending} callbacks holding a place` : ''),
    );
  }

  const states = $('states');
  if (!states.childElementCount) for (const [st, label] of STATES) states.append(tile(`agents-${st}`, label));
  const byState = /** @type {Record<string, number | undefined>} */ (snap.agentsByState);
  for (const [st] of STATES) setText(`agents-${st}`, String(byState[st] ?? 0));

  const body = element('agents', HTMLTableSectionElement);
  const rows = snap.agents.map((a) => [
    a.name,
    a.team,
    STATE_LABEL[a.state] +
      (a.reason ? ` (${a.reason.replace(/_/g, ' ')})` : '') +
      (a.connected || a.state === 'offline' ? '' : ' · no desk'),
    duration((now - a.since) / 1000),
    a.id,
    a.state,
  ]);
  while (body.rows.length > rows.length) body.deleteRow(-1);
  rows.forEach((r, i) => {
    let tr = body.rows[i];
    if (!tr) {
      tr = body.insertRow();
      for (let c = 0; c < 4; c++) tr.insertCell();
    }
    tr.id = `agent-${r[4]}`;
    tr.dataset.state = r[5];
    for (let c = 0; c < 4; c++) {
      const cell = tr.cells[c];
      if (cell && cell.textContent !== r[c]) cell.textContent = String(r[c]);
    }
  });
  setText('agents-caption', `${snap.agents.length} agents`);
  setText(
    'definitions',
    `Today = ${snap.day} (${snap.timeZone}). Service level = calls answered within the queue's threshold / (offered − short abandons); target ${percent(snap.serviceLevelTarget)}. ` +
      `Abandoned = (abandoned − short abandons) / (offered − short abandons); short abandons are callers who hung up within ${snap.shortAbandonSeconds} s.`,
  );
}
setInterval(render, 1000);

/** @param {SupervisorMessage} msg */
function onMessage(msg) {
  if (msg.type === 'snapshot') {
    snap = msg;
    receivedAt = Date.now();
    $('signin').hidden = true;
    $('board').hidden = false;
    render();
    setText('updated', new Date(msg.now).toLocaleTimeString());
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
  } else if (msg.type === 'error' && (msg.code === 'unauthorized' || msg.code === 'rate_limited')) {
    sessionStorage.removeItem(TOKEN_KEY);
    setText(
      'signin-error',
      msg.code === 'rate_limited'
        ? `Too many failed sign-ins from here: ${msg.message}`
        : 'That token was not accepted (a supervisor token is needed).',
    );
    $('signin').hidden = false;
    $('board').hidden = true;
    $('token').focus();
  }
}

/**
 * @param {SocketStatus} status
 * @param {StatusDetail} detail
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
    lost.textContent = `Connection lost: the numbers below are not live. Reconnecting automatically (attempt ${detail.attempt})…`;
    lost.hidden = false;
  } else if (status === 'reconnecting' || status === 'connecting') {
    conn.textContent = status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  } else if (status === 'closed') {
    conn.textContent = 'Not signed in';
    lost.hidden = true;
  }
}

/** @param {string} token */
function signIn(token) {
  if (socket) socket.stop();
  setText('signin-error', '');
  sessionStorage.setItem(TOKEN_KEY, token);
  socket = liveSocket({ path: '/supervisor/ws', hello: () => ({ type: 'hello', token }), onMessage, onStatus });
}

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = element('token', HTMLInputElement).value.trim();
  if (token) signIn(token);
});

const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || '';
clearFragment();
if (initial) signIn(initial);
