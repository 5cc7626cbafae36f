--[[
  The caller could not be connected to the agent (the caller left during the accept, the agent's leg was
  not answered, Twilio refused): the agent is available again with idleSince unchanged (it keeps its place).
  From on_call (after accept) or reserved (offer.result withdrawn). A retry changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] offer deadlines zset  KEYS[4] events stream
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] offerId  ARGV[2] now (ms)

  Returns { '', events... }
  Errors: NO_SUCH_AGENT, STALE_OFFER (another offer, or the call already ended)
]]
local key, AVAILABLE, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local offerId, now = ARGV[1], tonumber(ARGV[2])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
if a.offerId ~= offerId then return redis.error_reply('STALE_OFFER') end
local fromCall = a.state == 'on_call' and a.offerResult == 'accepted'
if not fromCall and a.state ~= 'reserved' then
  if a.offerResult == 'bridge_failed' then return out end
  return redis.error_reply('STALE_OFFER')
end
if a.state == 'reserved' then
  emit({ type = 'offer.result', at = now, agentId = a.id, callSid = a.offerCallSid or '', queue = a.offerQueue or '',
    result = 'withdrawn' })
end
local idle = tonumber(a.idleSince) or now
redis.call('HSET', key, 'offerResult', 'bridge_failed', 'idleSince', idle)
redis.call('HDEL', key, 'offerDeadline', 'callSid', 'callQueue', 'contactId', 'talkStartedAt', 'connectedAt',
  'holdStartedAt', 'holdMs')
redis.call('ZREM', DEADLINES, a.id)
redis.call('ZADD', AVAILABLE, idle, a.id)
move(key, a, 'available', now)
return out
