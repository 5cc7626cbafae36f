/**
 * The desk softphone's credentials: `GET /api/agent/voice-token` (agent scope) answers a Twilio Access
 * Token with a Voice grant (incoming calls allowed) for the identity of the agent's `client:` contact, so
 * the Voice JavaScript SDK in the desk can register as that client and take the leg the bridge dials to
 * it. Signed with an API key (TWILIO_API_KEY_SID / TWILIO_API_KEY_SECRET); refused naming what is missing
 * when the key is not set or the agent's contact is a phone number or SIP address (that agent answers
 * there, as before).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import type { Authenticator, Principal } from '../access/auth.js';
import { requireScope } from '../access/auth.js';
import type { AgentConfig } from '../config/callcenter.js';
import { replyError, sbError } from '../errors.js';

export interface VoiceTokenDeps {
  auth: Authenticator;
  agents: Record<string, AgentConfig>;
  accountSid: string;
  apiKeySid: string | undefined;
  apiKeySecret: string | undefined;
  /** Token lifetime (default 3600 s, Twilio's default; at most 24 h). */
  ttlSeconds?: number;
}

export interface VoiceToken {
  token: string;
  identity: string;
  /** When the token expires (ms since the epoch): the desk asks for a new one before then. */
  expiresAt: number;
}

/** Sign an Access Token with a Voice grant (incoming allowed) for `identity`. */
export function voiceToken(o: {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  identity: string;
  ttlSeconds: number;
}): VoiceToken {
  const at = new twilio.jwt.AccessToken(o.accountSid, o.apiKeySid, o.apiKeySecret, { identity: o.identity, ttl: o.ttlSeconds });
  at.addGrant(new twilio.jwt.AccessToken.VoiceGrant({ incomingAllow: true }));
  const token = at.toJwt();
  // The expiry Twilio will enforce is the token's own `exp` claim.
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number };
  return { token, identity: o.identity, expiresAt: payload.exp * 1000 };
}

/** Register GET /api/agent/voice-token. */
export function registerVoiceRoutes(app: FastifyInstance, deps: VoiceTokenDeps): void {
  const agentOnly = requireScope(deps.auth, 'agent');
  app.get('/api/agent/voice-token', { preHandler: agentOnly }, async (req, reply) => {
    const principal = (req as FastifyRequest & { principal?: Principal }).principal;
    const agent = principal?.agentId ? deps.agents[principal.agentId] : undefined;
    if (!agent) return replyError(reply, sbError('not_found', 'token', 'agent is not configured'));
    if (!deps.apiKeySid || !deps.apiKeySecret) {
      const missing = [!deps.apiKeySid && 'TWILIO_API_KEY_SID', !deps.apiKeySecret && 'TWILIO_API_KEY_SECRET']
        .filter(Boolean)
        .join(' and ');
      return replyError(
        reply,
        sbError('not_configured', missing.split(' ')[0], `the softphone needs ${missing} set on the server (a Twilio API key)`),
      );
    }
    const identity = /^client:(.+)$/.exec(agent.contact)?.[1];
    if (!identity) {
      return replyError(
        reply,
        sbError(
          'not_configured',
          `agents.${agent.id}.contact`,
          'is a phone number or SIP address, not client:<identity>: calls for this agent ring there, not in the desk',
        ),
      );
    }
    const ttlSeconds = Math.min(86_400, Math.max(60, deps.ttlSeconds ?? 3600));
    return voiceToken({ accountSid: deps.accountSid, apiKeySid: deps.apiKeySid, apiKeySecret: deps.apiKeySecret, identity, ttlSeconds });
  });
}
