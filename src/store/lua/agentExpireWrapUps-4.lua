--[[
  Sweep: agents whose wrap-up deadline has passed are wrapped up automatically (not_resolved / auto_wrapup),
  accounted as ending at the deadline, and become available. Safe on every instance at once: each
  deadline is taken out of the index by the one script that handles it.

  The agent ids come from the index, so the agent hash key is KEYS[4] .. agentId (keys.agents.agentPrefix,
  same {agents} tag).

  KEYS[1] wrap-up deadlines zset  KEYS[2] available zset  KEYS[3] events stream  KEYS[4] agent key prefix
  ARGV[1] now (ms)  ARGV[2] limit

  Returns { JSON [{agentId, callSid, queue, handleSeconds}], events... }
]]
local WRAPS, AVAILABLE, EVENTS, PREFIX = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])

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
