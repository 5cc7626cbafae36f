--[[
  The agent rejects the offer it holds: offer.result rejected, back to available with idleSince = now (the
  back of the line, so the caller goes to someone else). A retry changes nothing.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] offer deadlines zset  KEYS[4] events stream
  ARGV[1] offerId  ARGV[2] now (ms)

  Returns { JSON {agentId, offerId, callSid, queue} or '' for a retry, events... }
  Errors: NO_SUCH_AGENT, STALE_OFFER
]]
local key, AVAILABLE, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local offerId, now = ARGV[1], tonumber(ARGV[2])

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

local function offerRef(a)
  return { agentId = a.id, offerId = a.offerId or '', callSid = a.offerCallSid or '', queue = a.offerQueue or '' }
end

local a = load(key)
if not a or not a.state then return redis.error_reply('NO_SUCH_AGENT') end
if a.offerId ~= offerId then return redis.error_reply('STALE_OFFER') end
if a.state ~= 'reserved' then
  if a.offerResult == 'rejected' then return out end
  return redis.error_reply('STALE_OFFER')
end
local ref = offerRef(a)
redis.call('HSET', key, 'offerResult', 'rejected', 'idleSince', now)
redis.call('HDEL', key, 'offerDeadline')
redis.call('ZREM', DEADLINES, a.id)
redis.call('ZADD', AVAILABLE, now, a.id)
emit({ type = 'offer.result', at = now, agentId = a.id, callSid = ref.callSid, queue = ref.queue, result = 'rejected' })
move(key, a, 'available', now)
out[1] = cjson.encode(ref)
return out
