/**
 * Error answers over real HTTP routes all have the catalogue's shape (docs/errors.md): our own refusals
 * and fastify's (unknown route, body too large, content type not taken, JSON that does not parse).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors.js';
import { callParams, makeApp, newCallSid, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
});
afterAll(async () => {
  await t.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The body is exactly the catalogue's shape for `code`, with its status. */
function expectError(res: { statusCode: number; json: () => unknown }, code: keyof typeof ERRORS, field?: string): Record<string, unknown> {
  const body = res.json() as Record<string, unknown>;
  expect(res.statusCode).toBe(ERRORS[code].status);
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  if (field === undefined) expect(body).not.toHaveProperty('field');
  else {
    expect(body.field).toBe(field);
    expect(body.message as string).toMatch(new RegExp(`^${field.replace(/[.()]/g, '\\$&')}: `));
  }
  return body;
}

describe('error answers', () => {
  it('an unknown route: not_found', async () => {
    expectError(await t.app.inject({ method: 'GET', url: '/api/nothing-here' }), 'not_found');
    expectError(await t.app.inject({ method: 'POST', url: '/twilio/nothing-here' }), 'not_found');
  });

  it('the supervisor API: unauthorized with WWW-Authenticate, forbidden for an agent token, invalid_params naming the query field', async () => {
    const anon = await t.app.inject({ method: 'GET', url: '/api/queues' });
    expectError(anon, 'unauthorized');
    expect(anon.headers['www-authenticate']).toBe('Bearer');
    expectError(await t.app.inject({ method: 'GET', url: '/api/queues', headers: bearer('alice-demo-token') }), 'forbidden');
    const bad = await t.app.inject({
      method: 'GET',
      url: '/api/capacity?arrivalsPerHour=lots&ahtSeconds=180',
      headers: bearer(SUPERVISOR_TOKEN),
    });
    expectError(bad, 'invalid_params', 'arrivalsPerHour');
    expectError(
      await t.app.inject({ method: 'GET', url: '/api/voicemails?limit=0', headers: bearer(SUPERVISOR_TOKEN) }),
      'invalid_params',
      'limit',
    );
  });

  it('the monitor API: invalid_params for the path and the body, not_found for a call nobody is on, invalid_json for a body that does not parse', async () => {
    const url = (sid: string) => `/api/calls/${sid}/monitor`;
    const headers = { ...bearer(SUPERVISOR_TOKEN), 'content-type': 'application/json' };
    expectError(
      await t.app.inject({ method: 'POST', url: url('CAnope'), headers, payload: { mode: 'listen', to: '+15551230000' } }),
      'invalid_params',
      'callSid',
    );
    expectError(
      await t.app.inject({ method: 'POST', url: url(newCallSid()), headers, payload: { mode: 'shout', to: '+15551230000' } }),
      'invalid_params',
      'mode',
    );
    expectError(
      await t.app.inject({ method: 'POST', url: url(newCallSid()), headers, payload: { mode: 'listen', to: '+15551230000' } }),
      'not_found',
      'callSid',
    );
    expectError(await t.app.inject({ method: 'POST', url: url(newCallSid()), headers, payload: '{"mode":' }), 'invalid_json', '(body)');
  });

  it('webhooks: missing_signature, invalid_params naming the field, unsupported_media_type, payload_too_large', async () => {
    expectError(
      await t.app.inject({
        method: 'POST',
        url: '/twilio/voice',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'CallSid=x',
      }),
      'missing_signature',
    );
    const bad = await t.twilio('/twilio/voice', callParams('CAnot-a-sid'));
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_params', field: 'CallSid' });
    const json = await t.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': 'x' },
      payload: '{}',
    });
    expectError(json, 'unsupported_media_type');
    const huge = await t.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' },
      payload: `CallSid=${'A'.repeat(70 * 1024)}`,
    });
    expectError(huge, 'payload_too_large');
  });
});
