--[[
  Sweep: offers whose deadline has passed. The agent did not answer, so it goes on break with reason
  missed_offer (out of `available` until it comes back) at the deadline, and offer.result timeout is
  appended. Safe on every instance at once: each expired offer is returned exactly once (the script that
  takes it out of the index is the one that returns it).

  The agent ids come from the index, so the agent hash key is KEYS[3] .. agentId (keys.agents.agentPrefix,
  same {agents} tag).

  KEYS[1] offer deadlines zset  KEYS[2] events stream  KEYS[3] agent key prefix
  KEYS[4] signed-in set  KEYS[5] state set prefix  KEYS[6] state counts hash
  KEYS[7] skill set prefix (KEYS[4]..KEYS[7]: the agent index, include/agent-index.lua)
  ARGV[1] now (ms)  ARGV[2] limit

  Returns { JSON [{agentId, offerId, callSid, queue}], events... }
]]
local DEADLINES, EVENTS, PREFIX = KEYS[1], KEYS[2], KEYS[3]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

local function offerRef(a)
  return { agentId = a.id, offerId = a.offerId or '', callSid = a.offerCallSid or '', queue = a.offerQueue or '' }
end

-- cjson encodes an empty table as {}; the reply needs [].
local function list(t)
  if #t == 0 then return '[]' end
  return cjson.encode(t)
end

local expired = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', DEADLINES, id)
  local key = PREFIX .. id
  local a = load(key)
  local deadline = a and tonumber(a.offerDeadline)
  if a and a.state == 'reserved' and deadline and deadline <= now then
    local t = math.max(tonumber(a.stateSince) or deadline, deadline)
    local ref = offerRef(a)
    expired[#expired + 1] = ref
    redis.call('HSET', key, 'offerResult', 'timeout')
    redis.call('HDEL', key, 'offerDeadline')
    emit({ type = 'offer.result', at = t, agentId = id, callSid = ref.callSid, queue = ref.queue, result = 'timeout' })
    move(key, a, 'break', t, 'missed_offer')
  end
end
out[1] = list(expired)
return out
