--[[
  Put the agent's call on hold or take it off. Hold time accumulates in holdMs (integer ms, exact);
  holding twice or resuming twice changes nothing, and so does a late hold for a call that has ended.

  KEYS[1] agent hash  KEYS[2] events stream
  ARGV[1] callSid  ARGV[2] on ('1' | '0')  ARGV[3] now (ms)

  Returns { JSON {onHold, holdMs}, events... }
  Errors: NO_SUCH_AGENT, WRONG_CALL
]]
local key, EVENTS = KEYS[1], KEYS[2]
local callSid, on, now = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])

-- @include "agent-emit"

-- @include "agent-load"

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
local holdMs = tonumber(a.holdMs) or 0
if a.state ~= 'on_call' or a.callSid ~= callSid then
  if (a.state == 'wrap_up' and a.callSid == callSid) or a.lastCallSid == callSid then
    out[1] = cjson.encode({ onHold = false, holdMs = holdMs })
    return out
  end
  return redis.error_reply('WRONG_CALL')
end
local started = tonumber(a.holdStartedAt)
if on and not started then
  redis.call('HSET', key, 'holdStartedAt', now)
  emit({ type = 'hold', at = now, callSid = callSid, queue = a.callQueue or '', on = true })
  started = now
elseif not on and started then
  holdMs = holdMs + math.max(0, now - started)
  redis.call('HSET', key, 'holdMs', holdMs)
  redis.call('HDEL', key, 'holdStartedAt')
  emit({ type = 'hold', at = now, callSid = callSid, queue = a.callQueue or '', on = false })
  started = nil
end
out[1] = cjson.encode({ onHold = started ~= nil, holdMs = holdMs })
return out
