--[[
  The agent accepts the offer it holds: offer.result accepted, state on_call, talk starts now (callConnected
  may re-stamp it when the caller is actually bridged). A retry while still on that call returns the same
  answer with no events.

  KEYS[1] agent hash  KEYS[2] offer deadlines zset  KEYS[3] events stream
  KEYS[4] signed-in set  KEYS[5] state set prefix  KEYS[6] state counts hash
  KEYS[7] skill set prefix (KEYS[4]..KEYS[7]: the agent index, include/agent-index.lua)
  ARGV[1] offerId  ARGV[2] now (ms)

  Returns { JSON {callSid, queue}, events... }
  Errors: NO_SUCH_AGENT, STALE_OFFER (not the current offer, or already resolved otherwise)
]]
local key, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local offerId, now = ARGV[1], tonumber(ARGV[2])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
if a.offerId ~= offerId then return redis.error_reply('STALE_OFFER') end
if a.state == 'on_call' and a.offerResult == 'accepted' then
  out[1] = cjson.encode({ callSid = a.callSid or '', queue = a.callQueue or '' })
  return out
end
-- A late accept (deadline passed, sweep not yet run) still wins: the caller is still claimed for it.
if a.state ~= 'reserved' then return redis.error_reply('STALE_OFFER') end
local callSid, queue = a.offerCallSid or '', a.offerQueue or ''
redis.call('HSET', key, 'offerResult', 'accepted', 'callSid', callSid, 'callQueue', queue,
  'contactId', a.offerContactId or '', 'talkStartedAt', now, 'holdMs', 0)
redis.call('HDEL', key, 'offerDeadline', 'holdStartedAt', 'callEndedAt', 'wrapDeadline', 'connectedAt')
redis.call('ZREM', DEADLINES, a.id)
emit({ type = 'offer.result', at = now, agentId = a.id, callSid = callSid, queue = queue, result = 'accepted' })
move(key, a, 'on_call', now)
out[1] = cjson.encode({ callSid = callSid, queue = queue })
return out
