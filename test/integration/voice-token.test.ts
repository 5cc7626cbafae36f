/**
 * GET /api/agent/voice-token: the desk softphone's Access Token, decoded and checked claim by claim
 * (signature with the API key secret, issuer, subject, identity, Voice grant with incoming allowed,
 * lifetime), and refused, naming what is missing, without the API key or for an agent whose contact is
 * not a `client:` identity.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseCenterConfig } from '../../src/config/callcenter.js';
import { ACCOUNT_SID, EXAMPLE_CONFIG, makeApp, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';

const KEY_SID = 'SK' + '1'.repeat(32);
const KEY_SECRET = 'test-api-key-secret-0123456789';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
});

async function app(config: { twilioApiKeySid?: string; twilioApiKeySecret?: string }): Promise<TestApp> {
  // The example's agents, with Carol on a phone number instead of a desk client.
  const raw = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8')) as { agents: Record<string, { contact: string }> };
  raw.agents.carol!.contact = '+15551230009';
  const t = await makeApp({ center: parseCenterConfig(raw), config });
  apps.push(t);
  return t;
}

const get = (t: TestApp, token?: string) =>
  t.app.inject({ method: 'GET', url: '/api/agent/voice-token', headers: token ? { authorization: `Bearer ${token}` } : {} });

function decode(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signed: string; signature: string } {
  const [h, p, s] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>,
    signed: `${h}.${p}`,
    signature: s!,
  };
}

describe('GET /api/agent/voice-token', () => {
  it("signs an Access Token for the agent's client identity with an incoming Voice grant", async () => {
    const t = await app({ twilioApiKeySid: KEY_SID, twilioApiKeySecret: KEY_SECRET });
    const before = Math.floor(Date.now() / 1000);
    const res = await get(t, 'alice-demo-token');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { token: string; identity: string; expiresAt: number };
    expect(body.identity).toBe('alice');
    const { header, payload, signed, signature } = decode(body.token);
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
    expect(signature).toBe(createHmac('sha256', KEY_SECRET).update(signed).digest('base64url'));
    expect(createHmac('sha256', 'another-secret-0123456789').update(signed).digest('base64url')).not.toBe(signature);
    expect(payload.iss).toBe(KEY_SID);
    expect(payload.sub).toBe(ACCOUNT_SID);
    expect(String(payload.jti)).toMatch(new RegExp(`^${KEY_SID}-`));
    expect(payload.grants).toEqual({ identity: 'alice', voice: { incoming: { allow: true } } });
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(exp - iat).toBe(3600);
    expect(body.expiresAt).toBe(exp * 1000);
    // Each agent gets their own identity.
    const bob = (await get(t, 'bob-demo-token')).json() as { token: string; identity: string };
    expect(bob.identity).toBe('bob');
    expect(decode(bob.token).payload.grants).toMatchObject({ identity: 'bob' });
  });

  it('the Voice SDK bundle is served from the installed package, and the desk may reach its Twilio hosts only when the softphone is on', async () => {
    const on = await app({ twilioApiKeySid: KEY_SID, twilioApiKeySecret: KEY_SECRET });
    const sdk = await on.app.inject({ method: 'GET', url: '/web/vendor/twilio-voice.js' });
    expect(sdk.statusCode).toBe(200);
    expect(sdk.headers['content-type']).toMatch(/^text\/javascript/);
    expect(sdk.body).toContain('Twilio.Device=Twilio.Device||Voice.Device');
    const desk = await on.app.inject({ method: 'GET', url: '/desk', headers: { host: 'desk.example' } });
    expect(String(desk.headers['content-security-policy'])).toContain(
      "connect-src 'self' ws://desk.example wss://desk.example wss://voice-js.roaming.twilio.com https://eventgw.twilio.com;",
    );
    // Only the desk: the other pages stay on this origin.
    expect(String((await on.app.inject({ method: 'GET', url: '/wallboard' })).headers['content-security-policy'])).not.toContain(
      'twilio.com',
    );
    const off = await app({});
    expect(String((await off.app.inject({ method: 'GET', url: '/desk' })).headers['content-security-policy'])).not.toContain('twilio.com');
  });

  it('is for agents only: no token 401, the supervisor token 403', async () => {
    const t = await app({ twilioApiKeySid: KEY_SID, twilioApiKeySecret: KEY_SECRET });
    expect((await get(t)).statusCode).toBe(401);
    expect((await get(t, 'not-a-token')).statusCode).toBe(401);
    const sup = await get(t, SUPERVISOR_TOKEN);
    expect(sup.statusCode).toBe(403);
    expect(sup.json()).toMatchObject({ error: 'forbidden' });
  });

  it('without the API key: not_configured naming both settings', async () => {
    const t = await app({});
    const res = await get(t, 'alice-demo-token');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: 'not_configured',
      field: 'TWILIO_API_KEY_SID',
      message: 'TWILIO_API_KEY_SID: the softphone needs TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET set on the server (a Twilio API key)',
    });
  });

  it("an agent whose contact is a phone number: not_configured naming the agent's contact", async () => {
    const t = await app({ twilioApiKeySid: KEY_SID, twilioApiKeySecret: KEY_SECRET });
    const res = await get(t, 'carol-demo-token');
    expect(res.statusCode).toBe(503);
    const body = res.json() as { error: string; field: string; message: string };
    expect(body).toMatchObject({ error: 'not_configured', field: 'agents.carol.contact' });
    expect(body.message).toMatch(/not client:<identity>/);
    expect(body.message).not.toContain('+1555');
  });
});
