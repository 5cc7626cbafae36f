--[[
  The offer is withdrawn (the caller hung up while it rang, or the router found no caller to give it): back
  to available with idleSince unchanged (the agent keeps its place in the line). offer.result withdrawn,
  unless silent (an offer no caller was ever attached to). A retry changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] offer deadlines zset  KEYS[4] events stream
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] offerId  ARGV[2] silent ('1' | '0')  ARGV[3] now (ms)

  Returns { JSON {agentId, offerId, callSid, queue} or '' for a retry, events... }
  Errors: NO_SUCH_AGENT, STALE_OFFER
]]
local key, AVAILABLE, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local offerId, silent, now = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])

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
  if a.offerResult == 'withdrawn' then return out end
  return redis.error_reply('STALE_OFFER')
end
local ref = offerRef(a)
local idle = tonumber(a.idleSince) or now
redis.call('HSET', key, 'offerResult', 'withdrawn', 'idleSince', idle)
redis.call('HDEL', key, 'offerDeadline')
redis.call('ZREM', DEADLINES, a.id)
redis.call('ZADD', AVAILABLE, idle, a.id)
if not silent then
  emit({ type = 'offer.result', at = now, agentId = a.id, callSid = ref.callSid, queue = ref.queue, result = 'withdrawn' })
end
move(key, a, 'available', now)
out[1] = cjson.encode(ref)
return out
