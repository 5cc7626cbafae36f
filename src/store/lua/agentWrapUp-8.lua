--[[
  The agent finishes wrap-up with a disposition: call.handled (talk excluding hold, hold, wrap-up seconds),
  callsHandled + 1, and the agent is available with idleSince = now. An automatic wrap-up (auto = '1') is
  accounted as ending at the wrap-up deadline if that has passed. A retry for the call changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] wrap-up deadlines zset  KEYS[4] events stream
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] callSid  ARGV[2] disposition  ARGV[3] code  ARGV[4] auto ('1' | '0')  ARGV[5] now (ms)

  Returns { '', events... }
  Errors: NO_SUCH_AGENT, BAD_STATE (still on the call), WRONG_CALL (not the agent's call)
]]
local key, AVAILABLE, WRAPS, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local callSid, disposition, code, auto, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

-- @include "agent-finish"

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
if a.state ~= 'wrap_up' or a.callSid ~= callSid then
  if a.lastCallSid == callSid then return out end
  if a.state == 'on_call' and a.callSid == callSid then return redis.error_reply('BAD_STATE') end
  return redis.error_reply('WRONG_CALL')
end
local t = now
if auto then t = math.max(tonumber(a.stateSince) or now, math.min(now, tonumber(a.wrapDeadline) or now)) end
finish(key, a, t, disposition, code, 'available')
return out
