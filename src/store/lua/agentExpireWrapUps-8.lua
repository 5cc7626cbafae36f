--[[
  Sweep: agents whose wrap-up deadline has passed are wrapped up automatically (not_resolved / auto_wrapup),
  accounted as ending at the deadline, and become available. Safe on every instance at once: each
  deadline is taken out of the index by the one script that handles it.

  The agent ids come from the index, so the agent hash key is KEYS[4] .. agentId (keys.agents.agentPrefix,
  same {agents} tag).

  KEYS[1] wrap-up deadlines zset  KEYS[2] available zset  KEYS[3] events stream  KEYS[4] agent key prefix
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] now (ms)  ARGV[2] limit

  Returns { JSON [{agentId, callSid, queue, handleSeconds}], events... }
]]
local WRAPS, AVAILABLE, EVENTS, PREFIX = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

-- @include "agent-finish"

-- cjson encodes an empty table as {}; the reply needs [].
local function list(t)
  if #t == 0 then return '[]' end
  return cjson.encode(t)
end

local done = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', WRAPS, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', WRAPS, id)
  local key = PREFIX .. id
  local a = load(key)
  local deadline = a and tonumber(a.wrapDeadline)
  if a and a.state == 'wrap_up' and deadline and deadline <= now then
    local t = math.max(tonumber(a.stateSince) or deadline, deadline)
    local ended = tonumber(a.callEndedAt) or t
    local started = tonumber(a.talkStartedAt) or ended
    done[#done + 1] = { agentId = id, callSid = a.callSid or '', queue = a.callQueue or '',
      handleSeconds = math.max(0, t - started) / 1000 }
    finish(key, a, t, 'not_resolved', 'auto_wrapup', 'available')
  end
end
out[1] = list(done)
return out
