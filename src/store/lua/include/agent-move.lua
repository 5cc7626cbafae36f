-- Enter state `to` at t (ms); agent.state carries the seconds spent in the state being left (occupancy).
-- Needs agent-index (the index follows every move).
local function move(key, a, to, t, reason)
  if reason == '' then reason = nil end
  local secs = math.max(0, t - (tonumber(a.stateSince) or t)) / 1000
  redis.call('HSET', key, 'state', to, 'stateSince', t)
  reindex(a, a.state, to)
  if to == 'break' and reason then
    redis.call('HSET', key, 'breakReason', reason)
  else
    redis.call('HDEL', key, 'breakReason')
  end
  emit({ type = 'agent.state', at = t, agentId = a.id, team = a.team or '', from = a.state, to = to,
    secondsInFrom = secs, reason = reason })
  a.state, a.stateSince = to, t
end
