/**
 * The post-call survey, run on the caller's leg after the agent leg ends: CSAT (1–5), then NPS (0–10).
 * Pure like the IVR: the webhook layer loads and saves the state.
 */
import type { CenterConfig } from '../config/callcenter.js';
import type { DomainEvent, SurveyKind } from '../events.js';
import type { IvrState } from './step.js';
import { newResponse, speak, type VoiceResponse } from './prompt.js';

const RANGE: Record<SurveyKind, [number, number]> = { csat: [1, 5], nps: [0, 10] };

/** Start the survey (or hang up when it is disabled). */
export function startSurvey(
  center: CenterConfig,
  s: IvrState,
  queue: string,
  now: number,
  surveyUrl: (step: SurveyKind) => string,
): { twiml: VoiceResponse; state: IvrState; events: DomainEvent[] } {
  const twiml = newResponse();
  const q = center.queues[queue];
  if (!center.survey?.enabled || q?.survey === false || s.survey) {
    twiml.hangup();
    return { twiml, state: { ...s, phase: 'ended' }, events: [] };
  }
  const state: IvrState = { ...s, phase: 'survey', survey: { step: 'csat', queue } };
  speak(twiml, center, center.survey.intro, s.language);
  ask(twiml, center, 'csat', s.language, surveyUrl);
  return { twiml, state, events: [{ type: 'survey.offered', at: now, callSid: s.callSid, survey: 'csat' }] };
}

/** Take one survey answer; invalid or missing answers end the survey without a score. */
export function surveyAnswer(
  center: CenterConfig,
  s: IvrState,
  kind: SurveyKind,
  digits: string | undefined,
  now: number,
  surveyUrl: (step: SurveyKind) => string,
): { twiml: VoiceResponse; state: IvrState; events: DomainEvent[] } {
  const twiml = newResponse();
  const events: DomainEvent[] = [];
  if (!center.survey || !s.survey || s.survey.step !== kind) {
    // A retry of an answer already taken: say goodbye again, count nothing.
    if (center.survey && s.survey?.step === 'done') speak(twiml, center, center.survey.thanks, s.language);
    twiml.hangup();
    return { twiml, state: s, events };
  }
  const [lo, hi] = RANGE[kind];
  const score = digits !== undefined && /^\d{1,2}$/.test(digits) ? Number(digits) : NaN;
  const valid = Number.isInteger(score) && score >= lo && score <= hi;
  if (valid) events.push({ type: 'survey.response', at: now, callSid: s.callSid, survey: kind, score });
  if (kind === 'csat' && valid) {
    events.push({ type: 'survey.offered', at: now, callSid: s.callSid, survey: 'nps' });
    ask(twiml, center, 'nps', s.language, surveyUrl);
    return { twiml, state: { ...s, survey: { ...s.survey, step: 'nps' } }, events };
  }
  speak(twiml, center, center.survey.thanks, s.language);
  twiml.hangup();
  return { twiml, state: { ...s, phase: 'ended', survey: { ...s.survey, step: 'done' } }, events };
}

function ask(twiml: VoiceResponse, center: CenterConfig, kind: SurveyKind, language: string, surveyUrl: (k: SurveyKind) => string): void {
  if (!center.survey) return;
  const g = twiml.gather({
    input: ['dtmf'],
    action: surveyUrl(kind),
    method: 'POST',
    timeout: 6,
    numDigits: kind === 'csat' ? 1 : 2,
    finishOnKey: '#',
    actionOnEmptyResult: true,
  });
  speak(g, center, kind === 'csat' ? center.survey.csat : center.survey.nps, language);
}
