/** Domain events → the call-centre series (src/metrics/call-series.ts): the one place each is counted. */
import { serviceLevelSecondsFor, type CenterConfig } from '../config/callcenter.js';
import type { DomainEvent } from '../events.js';
import { PATIENCE_MARKS, type CallSeries } from './call-series.js';
import type { Labels } from './labels.js';

export function domainRecorder(s: CallSeries, L: Labels, center: CenterConfig): (e: DomainEvent) => void {
  const {
    offered,
    answered,
    abandoned,
    shortAbandoned,
    overflow,
    callbacks,
    callbackAttempts,
    answeredSl,
    abandonedSl,
    leftSl,
    abandonedAfter,
    reachedWait,
    transfers,
    monitors,
    wait,
    talk,
    hold,
    wrap,
    handle,
    handled,
    dispositions,
    repeats,
    overclaimed,
    agentStateSeconds,
    offers,
    ivrCalls,
    ivrVisits,
    ivrExits,
    ivrContained,
    ivrInvalid,
    languages,
    voicemails,
    surveyResponses,
    surveysOffered,
    ewtError,
    ewtTold,
  } = s;
  return (e: DomainEvent): void => {
    switch (e.type) {
      case 'call.started':
        ivrCalls.inc({ flow: L.flow(e.flow) });
        break;
      case 'ivr.node':
        ivrVisits.inc({ flow: L.flow(e.flow), node: L.node(e.flow, e.node) });
        break;
      case 'ivr.invalid':
        ivrInvalid.inc({ flow: L.flow(e.flow), node: L.node(e.flow, e.node), reason: e.reason });
        break;
      case 'ivr.exit':
        ivrExits.inc({ flow: L.flow(e.flow), exit: e.exit });
        if (e.contained) ivrContained.inc({ flow: L.flow(e.flow) });
        break;
      case 'language.selected':
        if (L.langs.has(e.language)) languages.inc({ language: e.language });
        break;
      case 'voicemail.recorded':
        voicemails.inc({ queue: L.queue(e.queue) });
        break;
      case 'queue.offered':
        offered.inc({ queue: L.queue(e.queue) });
        break;
      case 'queue.left': {
        const queue = L.queue(e.queue);
        const sl = e.serviceLevelSeconds || serviceLevelSecondsFor(center, e.queue);
        wait.observe({ queue, outcome: e.outcome }, e.waitSeconds);
        for (const mark of PATIENCE_MARKS) {
          if (e.waitSeconds >= mark) {
            reachedWait.inc({ queue, after: String(mark) });
            if (e.outcome === 'abandoned') abandonedAfter.inc({ queue, after: String(mark) });
          }
        }
        if (e.waitSeconds <= sl && !(e.outcome === 'abandoned' && e.short)) leftSl.inc({ queue });
        switch (e.outcome) {
          case 'answered':
            answered.inc({ queue });
            if (e.waitSeconds <= sl) answeredSl.inc({ queue });
            if (e.ewtToldSeconds !== undefined) {
              ewtError.observe({ queue }, e.ewtToldSeconds - e.waitSeconds);
              ewtTold.observe({ queue }, e.ewtToldSeconds);
            }
            break;
          case 'abandoned':
            abandoned.inc({ queue });
            if (e.short) shortAbandoned.inc({ queue });
            else if (e.waitSeconds <= sl) abandonedSl.inc({ queue });
            break;
          case 'overflow':
            overflow.inc({ queue, target: e.overflowTarget ?? 'voicemail' });
            break;
          case 'callback':
            callbacks.inc({ queue });
            break;
        }
        break;
      }
      case 'callback.attempt':
        callbackAttempts.inc({ queue: L.queue(e.queue), result: e.result });
        break;
      case 'agent.state':
        if (e.secondsInFrom > 0) agentStateSeconds.inc({ state: e.from, team: L.team(e.team) }, e.secondsInFrom);
        break;
      case 'offer.result':
        offers.inc({ queue: L.queue(e.queue), result: e.result });
        break;
      case 'call.handled': {
        const queue = L.queue(e.queue);
        talk.observe({ queue }, e.talkSeconds);
        hold.observe({ queue }, e.holdSeconds);
        wrap.observe({ queue }, e.wrapupSeconds);
        handle.observe({ queue }, e.talkSeconds + e.holdSeconds + e.wrapupSeconds);
        handled.inc({ queue });
        dispositions.inc({ queue, disposition: e.disposition });
        break;
      }
      case 'contact.repeat':
        repeats.inc({ queue: L.queue(e.queue) });
        if (e.overclaimed) overclaimed.inc({ queue: L.queue(e.queue) });
        break;
      case 'survey.offered':
        surveysOffered.inc({ survey: e.survey });
        break;
      case 'survey.response':
        surveyResponses.inc({ survey: e.survey, score: String(e.score) });
        break;
      case 'transfer':
        transfers.inc({ queue: L.queue(e.queue), kind: e.kind, mode: e.mode, result: e.result });
        break;
      case 'supervisor.monitor':
        monitors.inc({ queue: L.queue(e.queue), mode: e.mode });
        break;
      case 'hold':
      case 'call.ended':
      case 'ewt.announced':
        break;
    }
  };
}
