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
