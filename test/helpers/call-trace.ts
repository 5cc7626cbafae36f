/**
 * What a failing end-to-end test prints about a call that did not end: the emulator's view (status,
 * activity, Twilio queue or conference, the webhooks it sent for the call with their answers, the REST
 * requests naming it) and the call's Redis state (its queue entry, offer, IVR state, and the agents'
 * hashes), so the cause of a stranded caller is visible in the failure message itself.
 */
import type { TwilioEmulator } from '../../src/sim/twilio/index.js';
import type { Keys } from '../../src/store/keys.js';
import type { RedisClient } from '../../src/store/redis.js';

/** One Redis key's value, whatever its type ('-' when absent). */
async function dumpKey(redis: RedisClient, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'none':
      return '-';
    case 'string':
      return (await redis.get(key)) ?? '-';
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    default:
      return `(${type})`;
  }
}

const short = (s: string | undefined, n = 160): string => (s === undefined ? '' : s.replace(/\s+/g, ' ').slice(0, n));

/**
 * A multi-line account of call `sid`: `t0` is the test's start (times are printed relative to it, in
 * seconds), `queues` the queue names whose entries to show, `agentIds` the agents whose hashes to show.
 */
export async function traceCall(
  o: { emu: TwilioEmulator; redis: RedisClient; keys: Keys; queues: string[]; agentIds: string[]; t0: number },
  sid: string,
): Promise<string> {
  const { emu, redis, keys } = o;
  const rel = (at: number) => ((at - o.t0) / 1000).toFixed(1);
  const lines: string[] = [];
  const call = emu.calls.get(sid);
  lines.push(
    `call ${sid}: status ${call?.status} activity ${call?.activity} started ${call ? rel(call.startedAt) : '?'}s` +
      ` queue ${call?.queue?.friendlyName ?? '-'} conference ${call?.conference?.friendlyName ?? '-'}` +
      ` queueResults ${JSON.stringify(call?.queueResults ?? [])} errors ${JSON.stringify(call?.errors.map((e) => `${e.code} ${e.message}`) ?? [])}`,
  );
  // The caller's own webhooks, and its current offer's (the agent leg's status callbacks name the offer).
  const offerId = await redis.get(keys.offers.byCall(sid));
  for (const w of emu.log.webhooks.filter((x) => x.callSid === sid || (offerId && x.path.includes(offerId)))) {
    const leg = w.callSid === sid ? '' : ` leg ${w.callSid ?? '?'} ${w.params.CallStatus ?? ''}`;
    lines.push(`  webhook ${rel(w.at)}s ${w.kind} ${w.method} ${w.path}${leg} -> ${w.status ?? 'no answer'} ${short(w.body)}`);
  }
  for (const r of emu.log.rest.filter((x) => JSON.stringify([x.path, x.form]).includes(sid))) {
    lines.push(
      `  rest ${rel(r.at)}s ${r.method} ${r.path} ${short(JSON.stringify(r.form))} -> ${r.status ?? '?'}${r.fault ? ` fault ${r.fault}` : ''}`,
    );
  }
  for (const c of emu.conferences.values()) {
    if (c.friendlyName !== `sb-${sid}`) continue;
    lines.push(`  conference ${c.sid} ${c.status}: ${c.events.map((e) => `${rel(e.at)}s ${e.event} ${e.callSid ?? ''}`).join('; ')}`);
  }
  for (const q of o.queues) {
    const qk = keys.queue(q);
    const [held, ready, offering] = await Promise.all([
      redis.zscore(qk.held, sid),
      redis.zscore(qk.ready, sid),
      redis.sismember(qk.offering, sid),
    ]);
    lines.push(
      `  redis queue ${q}: held ${held ?? '-'} ready ${ready ?? '-'} offering ${offering} caller ${await dumpKey(redis, qk.caller(sid))}`,
    );
  }
  lines.push(`  redis offer-of-call ${offerId ?? '-'}${offerId ? ` offer ${await dumpKey(redis, keys.offers.offer(offerId))}` : ''}`);
  lines.push(`  redis ivr ${await dumpKey(redis, keys.call(sid).ivr)}`);
  return lines.join('\n');
}

/** Every agent's hash, one line each, plus the offer and wrap-up deadline indexes. */
export async function traceAgents(o: { redis: RedisClient; keys: Keys; agentIds: string[] }): Promise<string> {
  const lines: string[] = [];
  for (const id of o.agentIds) lines.push(`agent ${id}: ${await dumpKey(o.redis, o.keys.agents.agent(id))}`);
  lines.push(`offer deadlines ${await dumpKey(o.redis, o.keys.agents.offerDeadlines)}`);
  lines.push(`wrap-up deadlines ${await dumpKey(o.redis, o.keys.agents.wrapDeadlines)}`);
  lines.push(`grace deadlines ${await dumpKey(o.redis, o.keys.agents.graceDeadlines)}`);
  return lines.join('\n');
}
