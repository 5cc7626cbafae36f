--[[
  The agent's call ended: any open hold is closed, callEndedAt = now, and the agent enters wrap_up until
  now + wrapUpSeconds. With wrapUpSeconds = 0 there is no wrap-up: the call is handled at once with the
  disposition not_resolved / code no_wrapup (nobody claimed a resolution) and the agent is available.
  A second end for the same call changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] wrap-up deadlines zset  KEYS[4] events stream
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] callSid  ARGV[2] wrapUpSeconds  ARGV[3] now (ms)

  Returns { JSON {wrapDeadline: ms | null}, events... }
  Errors: NO_SUCH_AGENT, WRONG_CALL
]]
local key, AVAILABLE, WRAPS, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local callSid, wrapSeconds, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

-- @include "agent-finish"

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
if a.state ~= 'on_call' or a.callSid ~= callSid then
  if a.state == 'wrap_up' and a.callSid == callSid then
    out[1] = cjson.encode({ wrapDeadline = tonumber(a.wrapDeadline) })
    return out
  end
  if a.lastCallSid == callSid then
    out[1] = cjson.encode({ wrapDeadline = cjson.null })
    return out
  end
  return redis.error_reply('WRONG_CALL')
end
local holdMs = tonumber(a.holdMs) or 0
local held = tonumber(a.holdStartedAt)
if held then holdMs = holdMs + math.max(0, now - held) end
redis.call('HSET', key, 'holdMs', holdMs, 'callEndedAt', now)
redis.call('HDEL', key, 'holdStartedAt')
a.holdMs, a.callEndedAt = holdMs, now
if wrapSeconds <= 0 then
  finish(key, a, now, 'not_resolved', 'no_wrapup', 'available')
  out[1] = cjson.encode({ wrapDeadline = cjson.null })
  return out
end
local deadline = now + math.floor(wrapSeconds * 1000 + 0.5)
redis.call('HSET', key, 'wrapDeadline', deadline)
redis.call('ZADD', WRAPS, deadline, a.id)
move(key, a, 'wrap_up', now)
out[1] = cjson.encode({ wrapDeadline = deadline })
return out
