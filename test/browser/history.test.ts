/**
 * The supervisors' call-history page (`/history`) in Debian's Chromium against a real server, real Redis
 * and the Twilio emulator on a virtual clock: a named supervisor signs in with the keyboard, sees the
 * calls' records (an abandon after 75 s, a call answered by Alice with its wrap-up and survey), filters
 * them, gets a refused filter shown on its field, pages to older calls, and downloads the CSV, which parses
 * back to exactly the API's records; the export is in the audit under the supervisor's name. An agent's
 * token is refused. Screenshots go to test-artifacts/browser.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { csvToRecords, type CallRecord } from '../../src/records/index.js';
import { loadExampleWith, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { NUMBER, type Stack } from '../helpers/stack.js';
import { browserSuite, screenshot, tabTo, waitText } from './helpers.js';

const suite = browserSuite();
const SAM = 'sam-supervisor-token-0123456789';
const supervisors = { sam: { name: 'Sam Lee', tokenSha256: createHash('sha256').update(SAM).digest('hex'), role: 'supervisor' } };

/** Two calls: one gives up after 75 s with nobody staffed, then one answered by Alice and surveyed. */
async function twoCalls(stack: Stack): Promise<{ gaveUp: string; answered: string }> {
  const gaveUp = stack.emu.placeCall({ from: '+15551000001', to: NUMBER, behaviour: supportCaller({ patienceMs: 75_000 }) });
  await stack.emu.run(gaveUp.ended);
  stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
  const alice = await stack.agent('alice-demo-token');
  alice.send({ type: 'set_state', state: 'available' });
  await stack.until(alice.next('state', (m) => m.state === 'available'));
  const call = stack.emu.placeCall({ from: '+15551000002', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '10#' }) });
  const offer = await stack.until(alice.next('offer'));
  alice.send({ type: 'accept', offerId: offer.offerId });
  await stack.until(alice.next('call', (m) => m.status === 'connected'));
  await stack.emu.run(stack.clock.sleep(30_000));
  alice.send({ type: 'hangup', callSid: call.sid });
  await stack.until(alice.next('wrap_up'));
  alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', code: 'billing-fix' });
  await stack.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
  await stack.emu.run(call.ended);
  await stack.app.sb.recordFolds.idle();
  alice.close();
  return { gaveUp: gaveUp.sid, answered: call.sid };
}

async function apiRecords(stack: Stack, query: string): Promise<CallRecord[]> {
  const r = await stack.app.inject({ method: 'GET', url: `/api/call-records${query}`, headers: { authorization: `Bearer ${SAM}` } });
  return (r.json() as { records: CallRecord[] }).records;
}

const rowCalls = (page: import('playwright-core').Page) =>
  page.$$eval('#records tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.call ?? ''));

describe('call history page in Chromium', () => {
  it('lists, filters, pages and downloads call records from the keyboard; the export is audited', { timeout: 120_000 }, async () => {
    const stack = await suite.stack({ center: await loadExampleWith({ supervisors }) });
    const origin = `http://127.0.0.1:${stack.port}`;
    const { gaveUp, answered } = await twoCalls(stack);

    const page = await suite.page(origin);
    // An agent's token is refused.
    await page.goto(`${origin}/history`);
    await tabTo(page, '#token');
    await page.keyboard.type('alice-demo-token');
    await page.keyboard.press('Enter');
    await waitText(page, '#signin-error', /not a supervisor token/);

    // Sam signs in with the keyboard: both calls, newest first.
    await page.fill('#token', '');
    await tabTo(page, '#token');
    await page.keyboard.type(SAM);
    await page.keyboard.press('Enter');
    await waitText(page, '#records-caption', /^2 calls, newest first$/);
    expect(await rowCalls(page)).toEqual([answered, gaveUp]);
    const cells = async (sid: string) => page.$$eval(`#records tr[data-call="${sid}"] > *`, (cs) => cs.map((c) => c.textContent ?? ''));
    const a = await cells(answered);
    expect(a.slice(2, 4)).toEqual(['support', 'Answered']);
    expect(a[5]).toBe('alice');
    expect(a[8]).toBe('resolved · billing-fix');
    expect(a[9]).toBe('CSAT 5, NPS 10');
    const g = await cells(gaveUp);
    expect(g.slice(2, 6)).toEqual(['support', 'Abandoned', '1:15', '—']);
    await screenshot(page, 'history-list');

    // Filter by outcome with the keyboard: focus the select, pick "Abandoned", Tab to Search, Enter.
    await tabTo(page, '#f-outcome');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.$eval('#f-outcome', (s) => (s as HTMLSelectElement).value)).toBe('abandoned');
    const loads = async () => Number(await page.evaluate(() => document.body.dataset.loads ?? 0));
    let before = await loads();
    await tabTo(page, '#filters button[type="submit"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => Number(document.body.dataset.loads ?? 0) > n, before);
    expect(await rowCalls(page)).toEqual([gaveUp]);

    // A refused filter is shown with the field the API names, and that input is marked.
    await tabTo(page, '#f-minWait');
    await page.keyboard.type('soon');
    await page.keyboard.press('Enter');
    await waitText(page, '#filters-error', /^minWait: /);
    expect(await page.getAttribute('#f-minWait', 'aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-minWait');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('60');
    before = await loads();
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => Number(document.body.dataset.loads ?? 0) > n, before);
    expect(await page.textContent('#filters-error')).toBe('');
    expect(await rowCalls(page)).toEqual([gaveUp]);

    // The CSV of the filtered records, downloaded from the keyboard, is exactly the API's records.
    await tabTo(page, '#csv');
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csvToRecords(csv)).toEqual(await apiRecords(stack, '?outcome=abandoned&minWait=60'));
    await waitText(page, '#download-status', /^Downloaded 1 call record\.$/);
    await screenshot(page, 'history-filtered');
    const audit = await stack.app.inject({ method: 'GET', url: '/api/audit', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    expect(audit.json().entries).toEqual([
      expect.objectContaining({
        supervisor: 'sam',
        name: 'Sam Lee',
        action: 'records.export',
        detail: '1 records outcome=abandoned&minWait=60&limit=10000',
      }),
    ]);

    // One call per page: "Older calls" follows the cursor, and the focus moves to the new row.
    await page.goto(`${origin}/history?limit=1`);
    await waitText(page, '#records-caption', /^1 call, more older/);
    expect(await rowCalls(page)).toEqual([answered]);
    await tabTo(page, '#older');
    await page.keyboard.press('Enter');
    await waitText(page, '#records-caption', /^2 calls, newest first$/);
    expect(await rowCalls(page)).toEqual([answered, gaveUp]);
    expect(await page.evaluate(() => (document.activeElement?.closest('tr') as HTMLElement | null)?.dataset.call)).toBe(gaveUp);
    expect(await page.isHidden('#older')).toBe(true);
  });
});
