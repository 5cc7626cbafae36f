import { describe, expect, it } from 'vitest';
import { loadCenterConfigFile, parseCenterConfig } from '../../src/config/callcenter.js';
import { ConfigError, loadEnv } from '../../src/config/env.js';

describe('environment', () => {
  it('uses development defaults with no configuration and lists them', () => {
    const env = loadEnv({});
    expect(env.port).toBe(3000);
    expect(env.configPath).toBe('config/switchboard.example.yaml');
    expect(env.devDefaults).toContain('TWILIO_AUTH_TOKEN');
  });
  it('names each wrong setting', () => {
    expect(() => loadEnv({ PORT: 'eighty', TWILIO_ACCOUNT_SID: 'nope', PUBLIC_BASE_URL: 'https://x.example/' })).toThrow(ConfigError);
    try {
      loadEnv({ PORT: 'eighty', TWILIO_ACCOUNT_SID: 'nope', PUBLIC_BASE_URL: 'https://x.example/' });
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toMatch(/PORT:/);
      expect(msg).toMatch(/TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits/);
      expect(msg).toMatch(/PUBLIC_BASE_URL: must not end with a slash/);
    }
  });

  it('takes the softphone API key as a pair, and names the half that is missing or wrong', () => {
    const sid = 'SK' + 'a'.repeat(32);
    expect(loadEnv({ TWILIO_API_KEY_SID: sid, TWILIO_API_KEY_SECRET: 'a-secret-of-16-chars' })).toMatchObject({
      twilioApiKeySid: sid,
      twilioApiKeySecret: 'a-secret-of-16-chars',
    });
    expect(loadEnv({})).toMatchObject({ twilioApiKeySid: undefined, twilioApiKeySecret: undefined });
    expect(() => loadEnv({ TWILIO_API_KEY_SID: sid })).toThrow(/TWILIO_API_KEY_SECRET: must be set with TWILIO_API_KEY_SID/);
    expect(() => loadEnv({ TWILIO_API_KEY_SECRET: 'a-secret-of-16-chars' })).toThrow(
      /TWILIO_API_KEY_SID: must be set with TWILIO_API_KEY_SECRET/,
    );
    expect(() => loadEnv({ TWILIO_API_KEY_SID: 'AK123', TWILIO_API_KEY_SECRET: 'a-secret-of-16-chars' })).toThrow(
      /TWILIO_API_KEY_SID: must be SK followed by 32 hex digits/,
    );
  });
});

describe('call-center file', () => {
  it('loads the shipped example', async () => {
    const c = await loadCenterConfigFile('config/switchboard.example.yaml');
    expect(c.flows.main?.start).toBe('language');
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('names the path of a wrong value', () => {
    expect(() =>
      parseCenterConfig({
        fallback: { prompt: 'sorry' },
        holdMusic: { url: 'https://x.example/m.mp3' },
        numbers: { '+18005550100': { flow: 'main' } },
        flows: { main: { start: 'm', nodes: { m: { type: 'menu', prompt: 'hi', options: [{ key: '12', next: 'm' }], default: 'm' } } } },
      }),
    ).toThrow(/flows\.main\.nodes\.m\.options\.0\.key: one key/);
  });
  it('checks references between flows, nodes, queues and hours', () => {
    try {
      parseCenterConfig({
        fallback: { prompt: 'sorry' },
        holdMusic: { url: 'https://x.example/m.mp3' },
        numbers: { '+18005550100': { flow: 'nope' } },
        flows: {
          main: {
            start: 'h',
            nodes: { h: { type: 'hours', hours: 'missing', open: 'q', closed: 'gone' }, q: { type: 'queue', queue: 'sales' } },
          },
        },
      });
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('numbers.+18005550100.flow: no flow "nope"');
      expect(msg).toContain('flows.main.nodes.h.hours: no hours "missing"');
      expect(msg).toContain('flows.main.nodes.h.closed: no node "gone"');
      expect(msg).toContain('flows.main.nodes.q.queue: no queue "sales"');
    }
  });
});

describe('survey questions', () => {
  const base = {
    fallback: { prompt: 'sorry' },
    holdMusic: { url: 'https://x.example/m.mp3' },
    numbers: { '+18005550100': { flow: 'main' } },
    flows: { main: { start: 'h', nodes: { h: { type: 'hangup' } } } },
  };
  const survey = (s: Record<string, unknown>) => parseCenterConfig({ ...base, survey: { intro: 'hi', thanks: 'bye', ...s } }).survey;

  it('the shipped example asks CSAT, NPS and CES', async () => {
    const c = await loadCenterConfigFile('config/switchboard.example.yaml');
    expect(c.survey?.questions.map((q) => [q.kind, q.enabled])).toEqual([
      ['csat', true],
      ['nps', true],
      ['ces', true],
    ]);
  });
  it('takes a list in the order to ask, each on by default or turned off', () => {
    expect(
      survey({
        questions: [
          { kind: 'ces', prompt: 'easy?' },
          { kind: 'csat', enabled: false, prompt: 'ok?' },
        ],
      })?.questions,
    ).toEqual([
      { kind: 'ces', enabled: true, prompt: 'easy?' },
      { kind: 'csat', enabled: false, prompt: 'ok?' },
    ]);
  });
  it('reads the earlier csat/nps form as the questions [csat, nps]', () => {
    expect(survey({ csat: 'ok?', nps: { en: 'recommend?' } })?.questions).toEqual([
      { kind: 'csat', enabled: true, prompt: 'ok?' },
      { kind: 'nps', enabled: true, prompt: { en: 'recommend?' } },
    ]);
  });
  it('names a wrong question by its path', () => {
    expect(() => survey({ questions: [{ kind: 'effort', prompt: 'x' }] })).toThrow(/survey\.questions\.0\.kind/);
    expect(() =>
      survey({
        questions: [
          { kind: 'ces', prompt: 'x' },
          { kind: 'ces', prompt: 'y' },
        ],
      }),
    ).toThrow(/survey\.questions\.1\.kind: "ces" is asked once/);
    expect(() => survey({ questions: [{ kind: 'ces' }] })).toThrow(/survey\.questions\.0\.prompt/);
    expect(() => survey({ questions: [] })).toThrow(/survey\.questions/);
  });
});
