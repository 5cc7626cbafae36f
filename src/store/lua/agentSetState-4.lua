--[[
  An agent (or a supervisor) sets the agent's own state. Transitions (anything else is BAD_STATE; setting
  the current state again changes nothing, except a new break reason):

    from \ to   available        break            offline
    offline     sign in          sign in on break  -
    available   -                yes               yes
    break       yes              reason change     yes
    reserved    BAD_STATE        BAD_STATE         yes: the offer is released (offer.result rejected)
    on_call     BAD_STATE        BAD_STATE         BAD_STATE
    wrap_up     BAD_STATE        BAD_STATE         BAD_STATE  (wrap-up ends through wrapUp or its deadline)

  Entering available sets idleSince = now (the back of the line) and adds the agent to `available`.

  KEYS[1] agent hash  KEYS[2] available zset  KEYS[3] offer deadlines zset  KEYS[4] events stream
  ARGV[1] to (available | break | offline)  ARGV[2] reason ('' for none)  ARGV[3] instance ('' to keep)
  ARGV[4] now (ms)

  Returns { JSON {from, to, changed, releasedOffer: {agentId, offerId, callSid, queue} | null}, events... }
  Errors: NO_SUCH_AGENT, BAD_STATE
]]
local key, AVAILABLE, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local to, reason, instance, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

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
local from = a.state
local allowed = {
  offline = { available = true, ['break'] = true },
  available = { ['break'] = true, offline = true },
  ['break'] = { available = true, offline = true },
  reserved = { offline = true },
}
local reasonChange = from == 'break' and to == 'break' and reason ~= '' and reason ~= (a.breakReason or '')
if from ~= to and not (allowed[from] and allowed[from][to]) then return redis.error_reply('BAD_STATE') end
if instance ~= '' then redis.call('HSET', key, 'instance', instance) end

local released = cjson.null
if from == to and not reasonChange then
  out[1] = cjson.encode({ from = from, to = to, changed = false, releasedOffer = released })
  return out
end
if from == 'reserved' then
  released = offerRef(a)
  redis.call('HSET', key, 'offerResult', 'released')
  redis.call('HDEL', key, 'offerDeadline')
  redis.call('ZREM', DEADLINES, a.id)
  emit({ type = 'offer.result', at = now, agentId = a.id, callSid = released.callSid, queue = released.queue,
    result = 'rejected' })
end
move(key, a, to, now, reason)
if to == 'available' then
  redis.call('HSET', key, 'idleSince', now)
  redis.call('ZADD', AVAILABLE, now, a.id)
else
  redis.call('ZREM', AVAILABLE, a.id)
end
out[1] = cjson.encode({ from = from, to = to, changed = true, releasedOffer = released })
return out
