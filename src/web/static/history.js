// @ts-check
// Call history for supervisors: call records from GET /api/call-records (bearer supervisor token) with the
// API's filters, newest first, "Older calls" following the cursor, and the filtered records as a CSV file
// (the same request with Accept: text/csv). A refused filter is shown with the field the API names.
import { clearFragment, duration, el, element, setText, tokenFromFragment } from './live.js';

/**
 * @typedef {import('../../records/record.js').CallRecord} CallRecord
 * @typedef {{ error?: string, field?: string, message?: string }} ErrorBody
 */

/** @param {string} id */
const $ = (id) => element(id, HTMLElement);
const TOKEN_KEY = 'switchboard.history.token';
/** Calls per page: 50, or `?limit=N` (1–500) in the page's address. */
const PAGE = Math.min(500, Math.max(1, Number(new URLSearchParams(location.search).get('limit')) || 50));
/** @type {Record<string, string>} */
const OUTCOME_LABEL = {
  answered: 'Answered',
  abandoned: 'Abandoned',
  short_abandon: 'Short abandon',
  overflow: 'Overflow',
  callback: 'Callback',
  voicemail: 'Voicemail',
  ivr: 'Ended in the IVR',
};
/** Filter inputs by the API's query parameter they set. */
const FIELDS = ['from', 'to', 'queue', 'outcome', 'agent', 'callerKey', 'minWait'];

let token = '';
/** @type {string | null} the cursor of the next (older) page */
let next = null;
/** @type {URLSearchParams} the filters of the list shown */
let shown = new URLSearchParams();
let loading = false;

const auth = () => ({ authorization: `Bearer ${token}` });

/** @param {string} name */
function input(name) {
  const e = document.getElementById(`f-${name}`);
  if (!(e instanceof HTMLInputElement || e instanceof HTMLSelectElement)) throw new Error(`filter ${name} missing`);
  return e;
}

/** The filters as API query parameters (times from the browser's time zone to ISO 8601). */
function filters() {
  const q = new URLSearchParams();
  for (const name of FIELDS) {
    const v = input(name).value.trim();
    if (!v) continue;
    if (name === 'from' || name === 'to') {
      const ms = new Date(v).getTime();
      q.set(name, Number.isFinite(ms) ? new Date(ms).toISOString() : v);
    } else q.set(name, v);
  }
  return q;
}

/**
 * Show a refused filter next to the form, marking the input the API named.
 * @param {string} text
 * @param {string | undefined} [field]
 */
function filterError(text, field) {
  setText('filters-error', text);
  for (const name of FIELDS) input(name).removeAttribute('aria-invalid');
  if (field && FIELDS.includes(field)) {
    input(field).setAttribute('aria-invalid', 'true');
    input(field).focus();
  }
}

/** @param {string} message */
function showSignIn(message) {
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  setText('signin-error', message);
  $('signin').hidden = false;
  $('board').hidden = true;
  $('conn').dataset.status = 'closed';
  setText('conn', 'Not signed in');
  element('token', HTMLInputElement).focus();
}

/**
 * Why a request was refused, in words, when it means signing in again; null otherwise.
 * @param {Response} res
 */
async function refusal(res) {
  if (res.status === 401) return 'That token was not accepted (a supervisor token is needed).';
  if (res.status === 403) return 'That is not a supervisor token: call history needs a supervisor token.';
  if (res.status === 429) {
    /** @type {ErrorBody} */
    const b = await res
      .clone()
      .json()
      .catch(() => ({}));
    return `Too many requests from here: ${b.message ?? 'try again later'}`;
  }
  return null;
}

/** @param {string | null} iso */
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
/** @param {number | null} s */
const secs = (s) => (s === null ? '—' : duration(s));

/**
 * One record as a table row.
 * @param {CallRecord} r
 */
function row(r) {
  const tr = el('tr', { 'data-call': r.callSid });
  const outcome = r.outcome ? (OUTCOME_LABEL[r.outcome] ?? r.outcome) : '—';
  const detail =
    r.outcome === 'overflow' && r.overflowTarget
      ? ` → ${r.overflowTarget}`
      : r.outcome === 'callback' && r.callbackResult
        ? ` (${r.callbackResult})`
        : '';
  const survey = [r.csat !== null ? `CSAT ${r.csat}` : '', r.nps !== null ? `NPS ${r.nps}` : '', r.ces !== null ? `CES ${r.ces}` : '']
    .filter(Boolean)
    .join(', ');
  const transfers = r.transfers.map((t) => `${t.mode} to ${t.target ?? 'an outside number'} (${t.result})`).join('; ');
  tr.append(
    el('th', { scope: 'row' }, when(r.startedAt)),
    el('td', { title: r.callerKey ?? '' }, r.callerKey ? `${r.callerKey.slice(0, 8)}…${r.repeatContact ? ' (repeat)' : ''}` : '—'),
    el('td', {}, r.queue ?? '—'),
    el('td', { class: `outcome-${r.outcome ?? 'none'}` }, outcome + detail),
    el('td', {}, secs(r.waitSeconds)),
    el('td', {}, r.agents.length ? r.agents.join(' → ') : (r.agent ?? '—')),
    el('td', {}, r.talkSeconds === null ? '—' : `${secs(r.talkSeconds)} / ${secs(r.holdSeconds)} / ${secs(r.wrapUpSeconds)}`),
    el('td', {}, transfers || '—'),
    el('td', {}, r.disposition ? `${r.disposition.replace('_', ' ')}${r.dispositionCode ? ` · ${r.dispositionCode}` : ''}` : '—'),
    el('td', {}, survey || '—'),
    el(
      'td',
      {},
      r.recordingSid ? `${r.recordingSid}${r.recordingDurationSeconds !== null ? ` (${secs(r.recordingDurationSeconds)})` : ''}` : '—',
    ),
  );
  return tr;
}

/**
 * Load the first page for the filters in the form (more = false) or the next older page.
 * @param {boolean} more
 */
async function load(more) {
  if (!token || loading) return;
  const q = more ? new URLSearchParams(shown) : filters();
  if (more && next) q.set('cursor', next);
  q.set('limit', String(PAGE));
  loading = true;
  setText('conn', 'Loading…');
  try {
    const res = await fetch(`/api/call-records?${q}`, { headers: auth(), cache: 'no-store' });
    const why = await refusal(res);
    if (why) return showSignIn(why);
    if (!res.ok) {
      /** @type {ErrorBody} */
      const b = await res.json().catch(() => ({}));
      filterError(b.message ?? `The server refused (${res.status}).`, b.field);
      setText('conn', 'Signed in');
      return;
    }
    filterError('');
    /** @type {{ records: CallRecord[], nextCursor: string | null }} */
    const page = await res.json();
    const body = element('records', HTMLTableSectionElement);
    if (!more) {
      body.replaceChildren();
      q.delete('cursor');
      q.delete('limit');
      shown = q;
    }
    const first = body.rows.length;
    for (const r of page.records) body.append(row(r));
    next = page.nextCursor;
    $('older').hidden = !next;
    const n = body.rows.length;
    setText(
      'records-caption',
      n === 0 ? 'No calls match these filters' : `${n} call${n === 1 ? '' : 's'}${next ? ', more older' : ''}, newest first`,
    );
    setText('conn', 'Signed in');
    // After "Older calls", focus the first new row's heading cell so keyboard users continue there.
    if (more && body.rows[first]) {
      const cell = body.rows[first].cells[0];
      cell?.setAttribute('tabindex', '-1');
      cell?.focus();
    } else if (!next && more) $('records-title').focus();
    document.body.dataset.loads = String(Number(document.body.dataset.loads ?? 0) + 1);
  } catch {
    filterError('The server did not answer; try again.');
    setText('conn', 'Signed in');
  } finally {
    loading = false;
  }
}

/** Download the records matching the filters in the form as CSV (up to 10,000). */
async function downloadCsv() {
  const q = filters();
  q.set('limit', '10000');
  setText('download-status', 'Preparing the CSV file…');
  try {
    const res = await fetch(`/api/call-records?${q}`, { headers: { ...auth(), accept: 'text/csv' }, cache: 'no-store' });
    const why = await refusal(res);
    if (why) return showSignIn(why);
    if (!res.ok) {
      /** @type {ErrorBody} */
      const b = await res.json().catch(() => ({}));
      setText('download-status', '');
      return filterError(b.message ?? `The server refused (${res.status}).`, b.field);
    }
    const text = await res.text();
    const rows = Math.max(0, text.split('\r\n').filter(Boolean).length - 1);
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    const a = el('a', { href: url, download: `call-records-${new Date().toISOString().slice(0, 10)}.csv`, hidden: '' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    setText(
      'download-status',
      `Downloaded ${rows} call record${rows === 1 ? '' : 's'}${res.headers.get('x-next-cursor') ? ' (the newest 10,000; narrow the filters for older ones)' : ''}.`,
    );
  } catch {
    setText('download-status', 'The server did not answer; try again.');
  }
}

/** @param {string} t */
async function signIn(t) {
  setText('signin-error', '');
  let res;
  try {
    res = await fetch('/api/call-records?limit=1', { headers: { authorization: `Bearer ${t}` }, cache: 'no-store' });
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
  $('conn').dataset.status = 'open';
  await load(false);
  input('from').focus();
}

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = element('token', HTMLInputElement).value.trim();
  if (t) void signIn(t);
});
$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void load(false);
});
$('filters').addEventListener('reset', () => {
  filterError('');
  setTimeout(() => void load(false), 0);
});
$('csv').addEventListener('click', () => void downloadCsv());
$('older').addEventListener('click', () => void load(true));

const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || '';
clearFragment();
if (initial) void signIn(initial);
