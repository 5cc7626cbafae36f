--[[
  The agent rejects the offer it holds: offer.result rejected, back to available with idleSince = now (the
  back of the line, so the caller goes to someone else). A retry changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] offer deadlines zset  KEYS[4] events stream
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] offerId  ARGV[2] now (ms)

  Returns { JSON {agentId, offerId, callSid, queue} or '' for a retry, events... }
  Errors: NO_SUCH_AGENT, STALE_OFFER
]]
local key, AVAILABLE, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local offerId, now = ARGV[1], tonumber(ARGV[2])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

local function offerRef(a)
  return { agentId = a.id, offerId = a.offerId or '', callSid = a.offerCallSid or '', queue = a.offerQueue or '' }
end

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
if a.offerId ~= offerId then return redis.error_reply('STALE_OFFER') end
if a.state ~= 'reserved' then
  if a.offerResult == 'rejected' then return out end
  return redis.error_reply('STALE_OFFER')
end
local ref = offerRef(a)
redis.call('HSET', key, 'offerResult', 'rejected', 'idleSince', now)
redis.call('HDEL', key, 'offerDeadline')
redis.call('ZREM', DEADLINES, a.id)
redis.call('ZADD', AVAILABLE, now, a.id)
emit({ type = 'offer.result', at = now, agentId = a.id, callSid = ref.callSid, queue = ref.queue, result = 'rejected' })
move(key, a, 'available', now)
out[1] = cjson.encode(ref)
return out
