/**
 * The demo's callers: Poisson arrivals with an exponential patience, and how they answer the example call
 * center's menus (language, support or billing) and its post-call survey, so every dashboard panel has data.
 */
import { CallerPopulation } from './twilio/index.js';

export function demoCallers(ratePerHour: number): CallerPopulation {
  return new CallerPopulation({
    seed: Date.now() % 100_000,
    ratePerHour,
    meanPatienceMs: 90_000,
    // Matched on what the caller heard in the Gather's prompt (the first menu is the /twilio/voice document).
    gather: [
      { heard: 'For English, press 1', choices: [{ weight: 1, digits: '1' }], delayMs: [300, 1200] },
      {
        heard: 'For technical support, press 2',
        choices: [
          { weight: 7, digits: '2' },
          { weight: 3, digits: '1' },
        ],
        delayMs: [300, 1500],
      },
      { heard: 'To speak with billing, press 2', choices: [{ weight: 1, digits: '2' }], delayMs: [300, 1500] },
      // The post-call survey (CSAT 1-5, NPS 0-10, CES 1-7), so the survey panels have data; some callers skip it.
      {
        heard: 'how satisfied',
        choices: [
          { weight: 5, digits: '5' },
          { weight: 3, digits: '4' },
          { weight: 1, digits: '2' },
          { weight: 2, none: true },
        ],
        delayMs: [800, 2500],
      },
      {
        heard: 'recommend',
        choices: [
          { weight: 4, digits: '10#' },
          { weight: 3, digits: '8#' },
          { weight: 2, digits: '5#' },
        ],
        delayMs: [800, 2500],
      },
      {
        heard: 'how easy',
        choices: [
          { weight: 4, digits: '7' },
          { weight: 3, digits: '5' },
          { weight: 2, digits: '3' },
        ],
        delayMs: [800, 2500],
      },
    ],
  });
}
