/**
 * The post-call survey as Twilio runs it: a caller is answered by an agent over the real WebSocket, the
 * agent hangs up, Twilio requests the caller's <Dial> action, and the caller answers each <Gather> of the
 * survey with keys through the emulator. The questions come from the call-center file (CSAT, NPS, CES,
 * each on or off, in the listed order); the answers are checked in Redis (the call's state) and on
 * /metrics (switchboard_survey_* with survey="ces").
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseCenterConfig, type CenterConfig } from '../../src/config/callcenter.js';
import twilio from 'twilio';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, sample } from '../helpers/app.js';
import { supportCaller, type SupportCallerOptions } from '../helpers/callers.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** The example call center with the survey's questions replaced. */
function centerWithQuestions(questions: { kind: string; enabled?: boolean }[]): CenterConfig {
  const raw = parseYaml(readFileSync('config/switchboard.example.yaml', 'utf8')) as {
    survey: { questions: { kind: string; prompt: unknown }[] };
  };
  const prompts = Object.fromEntries(raw.survey.questions.map((q) => [q.kind, q.prompt]));
  raw.survey.questions = questions.map((q) => ({ ...q, prompt: prompts[q.kind] }));
  return parseCenterConfig(raw);
}

/** One caller answered by alice, who hangs up after a minute and wraps up; resolves with the call's summary. */
async function answeredCall(stack: Stack, answers: SupportCallerOptions) {
  stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
  const alice = await stack.agent('alice-demo-token');
  alice.send({ type: 'set_state', state: 'available' });
  const call = stack.emu.placeCall({ from: '+15551230077', to: NUMBER, behaviour: supportCaller(answers) });
  const offer = await stack.until(alice.next('offer'));
  alice.send({ type: 'accept', offerId: offer.offerId });
  await stack.until(alice.next('call', (m) => m.status === 'connected'));
  await stack.emu.run(stack.clock.sleep(60_000));
  alice.send({ type: 'hangup', callSid: call.sid });
  await stack.until(alice.next('wrap_up'));
  alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved' });
  await stack.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
  const summary = await stack.emu.run(call.ended);
  alice.close();
  return { sid: call.sid, summary };
}

const count = (m: string, name: string, labels: Record<string, string>) => sample(m, name, labels) ?? 0;

describe('post-call survey with CES', () => {
  it('asks the configured questions in order, CES 1-7 included, and counts each answer under its survey', async () => {
    s = await makeStack({ center: centerWithQuestions([{ kind: 'csat' }, { kind: 'ces' }, { kind: 'nps' }]) });
    const { sid, summary } = await answeredCall(s, { csat: '4', ces: '6', nps: '9#' });

    // Heard in the configured order: CSAT, then CES, then NPS, then thanks.
    const heard = summary.heard.join(' | ');
    const at = (text: string) => heard.indexOf(text);
    expect(at('how satisfied')).toBeGreaterThan(-1);
    expect(at('how easy')).toBeGreaterThan(at('how satisfied'));
    expect(at('recommend')).toBeGreaterThan(at('how easy'));
    expect(at('Thank you for your feedback')).toBeGreaterThan(at('recommend'));

    // Redis: the call's state holds the finished survey and its three answers.
    const state = await s.app.sb.calls.get(sid);
    expect(state?.phase).toBe('ended');
    expect(state?.survey).toEqual({ step: 'done', queue: 'support', answers: { csat: 4, ces: 6, nps: 9 } });

    const m = await s.metrics();
    expect(count(m, 'switchboard_surveys_offered_total', { survey: 'ces' })).toBe(1);
    expect(count(m, 'switchboard_survey_responses_total', { survey: 'ces', score: '6' })).toBe(1);
    expect(count(m, 'switchboard_survey_responses_total', { survey: 'csat', score: '4' })).toBe(1);
    expect(count(m, 'switchboard_survey_responses_total', { survey: 'nps', score: '9' })).toBe(1);
    expect(s.emu.errors).toEqual([]);
  });

  it('skips a question that is off, and ends the survey at a key off the CES scale without a score', async () => {
    s = await makeStack({ center: centerWithQuestions([{ kind: 'csat', enabled: false }, { kind: 'ces' }, { kind: 'nps' }]) });
    const { sid, summary } = await answeredCall(s, { csat: '5', ces: '9', nps: '10#' });

    expect(summary.heard.some((h) => h.includes('how satisfied'))).toBe(false); // CSAT is off
    expect(summary.heard.some((h) => h.includes('how easy'))).toBe(true);
    expect(summary.heard.some((h) => h.includes('recommend'))).toBe(false); // 9 is not on 1-7: survey over
    const state = await s.app.sb.calls.get(sid);
    expect(state?.survey).toEqual({ step: 'done', queue: 'support', answers: {} });

    const m = await s.metrics();
    expect(count(m, 'switchboard_surveys_offered_total', { survey: 'ces' })).toBe(1);
    expect(count(m, 'switchboard_surveys_offered_total', { survey: 'csat' })).toBe(0);
    expect(count(m, 'switchboard_surveys_offered_total', { survey: 'nps' })).toBe(0);
    expect(m).not.toMatch(/switchboard_survey_responses_total\{[^}]*survey="ces"/);
  });

  it('a retried CES answer (same webhook twice) is counted once', async () => {
    s = await makeStack({ center: centerWithQuestions([{ kind: 'ces' }]) });
    const { sid } = await answeredCall(s, { ces: '7' });
    // Twilio retrying the Gather action after a lost answer: the survey is done, nothing counts twice.
    const path = '/twilio/survey?step=ces';
    const params = { CallSid: sid, AccountSid: ACCOUNT_SID, Digits: '7', CallStatus: 'in-progress', From: '+15551230077', To: NUMBER };
    const retry = await fetch(`http://127.0.0.1:${s.port}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + path, params),
      },
      body: new URLSearchParams(params),
    });
    expect(retry.status).toBe(200);
    const body = await retry.text();
    expect(body).toContain('Thank you for your feedback');
    expect(body).toContain('<Hangup/>');
    const m = await s.metrics();
    expect(count(m, 'switchboard_survey_responses_total', { survey: 'ces', score: '7' })).toBe(1);
    expect(count(m, 'switchboard_surveys_offered_total', { survey: 'ces' })).toBe(1);
    expect((await s.app.sb.calls.get(sid))?.survey).toEqual({ step: 'done', queue: 'support', answers: { ces: 7 } });
  });
});
