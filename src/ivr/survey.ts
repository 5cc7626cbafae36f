/**
 * The post-call survey, run on the caller's leg after the agent leg ends: the questions of the
 * call-center file in their order (CSAT 1–5, NPS 0–10, CES 1–7, each on or off), one <Gather> each.
 * Pure like the IVR: the webhook layer loads and saves the state.
 */
import { SURVEY_SCALES, type CenterConfig } from '../config/callcenter.js';
import type { DomainEvent, SurveyKind } from '../events.js';
import type { IvrState } from './step.js';
import { newResponse, speak, type VoiceResponse } from './prompt.js';

/** Every question the survey can ask, as the survey webhook's `step` accepts them. */
export const SURVEY_KINDS: readonly SurveyKind[] = ['csat', 'nps', 'ces'];

/** The enabled questions, in the order the call-center file lists them. */
function questions(center: CenterConfig): SurveyKind[] {
  return (center.survey?.questions ?? []).filter((q) => q.enabled).map((q) => q.kind);
}

/** Start the survey (or hang up when it is disabled, has no question on, or already ran). */
export function startSurvey(
  center: CenterConfig,
  s: IvrState,
  queue: string,
  now: number,
  surveyUrl: (step: SurveyKind) => string,
): { twiml: VoiceResponse; state: IvrState; events: DomainEvent[] } {
  const twiml = newResponse();
  const q = center.queues[queue];
  const first = questions(center)[0];
  if (!center.survey?.enabled || q?.survey === false || s.survey || first === undefined) {
    twiml.hangup();
    return { twiml, state: { ...s, phase: 'ended' }, events: [] };
  }
  const state: IvrState = { ...s, phase: 'survey', survey: { step: first, queue, answers: {} } };
  speak(twiml, center, center.survey.intro, s.language);
  ask(twiml, center, first, s.language, surveyUrl);
  return { twiml, state, events: [{ type: 'survey.offered', at: now, callSid: s.callSid, survey: first }] };
}

/**
 * Take one survey answer, then ask the next question. An invalid or missing answer ends the survey
 * without a score (a caller who does not answer one question is not asked the rest).
 */
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
  const [lo, hi] = SURVEY_SCALES[kind];
  const score = digits !== undefined && /^\d{1,2}$/.test(digits) ? Number(digits) : NaN;
  const valid = Number.isInteger(score) && score >= lo && score <= hi;
  const answers = { ...s.survey.answers, ...(valid ? { [kind]: score } : {}) };
  if (valid) events.push({ type: 'survey.response', at: now, callSid: s.callSid, survey: kind, score });
  const list = questions(center);
  const next = valid ? list[list.indexOf(kind) + 1] : undefined;
  if (next !== undefined) {
    events.push({ type: 'survey.offered', at: now, callSid: s.callSid, survey: next });
    ask(twiml, center, next, s.language, surveyUrl);
    return { twiml, state: { ...s, survey: { ...s.survey, step: next, answers } }, events };
  }
  speak(twiml, center, center.survey.thanks, s.language);
  twiml.hangup();
  return { twiml, state: { ...s, phase: 'ended', survey: { ...s.survey, step: 'done', answers } }, events };
}

function ask(twiml: VoiceResponse, center: CenterConfig, kind: SurveyKind, language: string, surveyUrl: (k: SurveyKind) => string): void {
  const question = center.survey?.questions.find((q) => q.kind === kind);
  if (!question) return;
  const [, hi] = SURVEY_SCALES[kind];
  const g = twiml.gather({
    input: ['dtmf'],
    action: surveyUrl(kind),
    method: 'POST',
    timeout: 6,
    // One key when the scale is single digits (CSAT 1-5, CES 1-7); up to two, ended by #, for NPS 0-10.
    numDigits: hi < 10 ? 1 : 2,
    finishOnKey: '#',
    actionOnEmptyResult: true,
  });
  speak(g, center, question.prompt, language);
}
