--[[
  The agent's call ended: any open hold is closed, callEndedAt = now, and the agent enters wrap_up until
  now + wrapUpSeconds. With wrapUpSeconds = 0 there is no wrap-up: the call is handled at once with the
  disposition not_resolved / code no_wrapup (nobody claimed a resolution) and the agent is available.
  A second end for the same call changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] wrap-up deadlines zset  KEYS[4] events stream
  ARGV[1] callSid  ARGV[2] wrapUpSeconds  ARGV[3] now (ms)

  Returns { JSON {wrapDeadline: ms | null}, events... }
  Errors: NO_SUCH_AGENT, WRONG_CALL
]]
local key, AVAILABLE, WRAPS, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local callSid, wrapSeconds, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

-- Reply: { result JSON or '', event JSON... }. Every event is appended to the stream as it happens.
local out = { '' }
local function emit(ev)
  local json = cjson.encode(ev)
  redis.call('XADD', EVENTS, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
  out[#out + 1] = json
end

local function load(key)
  local raw = redis.call('HGETALL', key)
  if #raw == 0 then return nil end
  local a = {}
  for i = 1, #raw, 2 do a[raw[i]] = raw[i + 1] end
  return a
end

-- Enter state `to` at t (ms); agent.state carries the seconds spent in the state being left (occupancy).
local function move(key, a, to, t, reason)
  if reason == '' then reason = nil end
  local secs = math.max(0, t - (tonumber(a.stateSince) or t)) / 1000
  redis.call('HSET', key, 'state', to, 'stateSince', t)
  if to == 'break' and reason then
    redis.call('HSET', key, 'breakReason', reason)
  else
    redis.call('HDEL', key, 'breakReason')
  end
  emit({ type = 'agent.state', at = t, agentId = a.id, team = a.team or '', from = a.state, to = to,
    secondsInFrom = secs, reason = reason })
  a.state, a.stateSince = to, t
end

-- Close the agent's call at t: call.handled (talk excludes hold; wrap-up runs from the call's end to t),
-- the counters fewest_calls reads, then state `to` (available joins the back of the line).
local function finish(key, a, t, disposition, code, to, reason)
  local ended = tonumber(a.callEndedAt) or t
  local started = tonumber(a.talkStartedAt) or ended
  local holdMs = tonumber(a.holdMs) or 0
  local day = math.floor(t / 86400000)
  local today = 0
  if tonumber(a.callsDay) == day then today = tonumber(a.callsToday) or 0 end
  redis.call('HSET', key, 'callsHandled', (tonumber(a.callsHandled) or 0) + 1, 'callsToday', today + 1,
    'callsDay', day, 'lastCallSid', a.callSid or '', 'lastDisposition', disposition)
  redis.call('HDEL', key, 'callSid', 'callQueue', 'contactId', 'talkStartedAt', 'connectedAt', 'holdStartedAt',
    'holdMs', 'callEndedAt', 'wrapDeadline')
  redis.call('ZREM', WRAPS, a.id)
  emit({ type = 'call.handled', at = t, callSid = a.callSid or '', contactId = a.contactId or '',
    queue = a.callQueue or '', agentId = a.id, team = a.team or '',
    talkSeconds = math.max(0, ended - started - holdMs) / 1000, holdSeconds = holdMs / 1000,
    wrapupSeconds = math.max(0, t - ended) / 1000, disposition = disposition, code = code })
  move(key, a, to, t, reason)
  if to == 'available' then
    redis.call('HSET', key, 'idleSince', t)
    redis.call('ZADD', AVAILABLE, t, a.id)
  end
end

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
