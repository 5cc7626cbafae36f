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
  KEYS[5] signed-in set  KEYS[6] state set prefix  KEYS[7] state counts hash
  KEYS[8] skill set prefix (KEYS[5]..KEYS[8]: the agent index, include/agent-index.lua)
  ARGV[1] to (available | break | offline)  ARGV[2] reason ('' for none)  ARGV[3] instance ('' to keep)
  ARGV[4] now (ms)

  Returns { JSON {from, to, changed, releasedOffer: {agentId, offerId, callSid, queue} | null}, events... }
  Errors: NO_SUCH_AGENT, BAD_STATE
]]
local key, AVAILABLE, DEADLINES, EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local to, reason, instance, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

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
