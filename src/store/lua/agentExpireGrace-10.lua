--[[
  Sweep: agents still disconnected when their grace ran out are signed out at the grace deadline
  (reason disconnected). By state:
    available, break  -> offline
    reserved          -> offline; the offer is released (offer.result timeout) and returned so the caller
                         can be given back (if its own deadline came first: break missed_offer, then offline)
    wrap_up           -> auto wrap-up (not_resolved / auto_wrapup), then offline
    on_call           -> not signed out in the middle of a call: the grace is re-armed (graceMs from now)
  Safe on every instance at once (each deadline is taken out of the index by the script that handles it).

  The agent ids come from the index, so the agent hash key is KEYS[6] .. agentId (keys.agents.agentPrefix,
  same {agents} tag).

  KEYS[1] grace deadlines zset  KEYS[2] available zset  KEYS[3] offer deadlines zset
  KEYS[4] wrap-up deadlines zset  KEYS[5] events stream  KEYS[6] agent key prefix
  KEYS[7] signed-in set  KEYS[8] state set prefix  KEYS[9] state counts hash
  KEYS[10] skill set prefix (KEYS[7]..KEYS[10]: the agent index, include/agent-index.lua)
  ARGV[1] now (ms)  ARGV[2] limit

  Returns { JSON {signedOut: [agentId], released: [{agentId, offerId, callSid, queue}]}, events... }
]]
local GRACE, AVAILABLE, DEADLINES, WRAPS, EVENTS, PREFIX = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

local function offerRef(a)
  return { agentId = a.id, offerId = a.offerId or '', callSid = a.offerCallSid or '', queue = a.offerQueue or '' }
end

-- @include "agent-finish"

-- cjson encodes an empty table as {}; the reply needs [].
local function list(t)
  if #t == 0 then return '[]' end
  return cjson.encode(t)
end

local signedOut, released = {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', GRACE, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', GRACE, id)
  local key = PREFIX .. id
  local a = load(key)
  local graceAt = a and tonumber(a.graceDeadline)
  if a and a.connected ~= '1' and graceAt and graceAt <= now then
    local t = math.max(tonumber(a.stateSince) or graceAt, graceAt)
    if a.state == 'on_call' then
      local again = now + (tonumber(a.graceMs) or 30000)
      redis.call('HSET', key, 'graceDeadline', again)
      redis.call('ZADD', GRACE, again, id)
    else
      redis.call('HDEL', key, 'graceDeadline')
      if a.state == 'reserved' then
        local ref = offerRef(a)
        released[#released + 1] = ref
        local od = tonumber(a.offerDeadline) or t
        local te = math.max(tonumber(a.stateSince) or t, math.min(od, t))
        redis.call('HSET', key, 'offerResult', 'timeout')
        redis.call('HDEL', key, 'offerDeadline')
        redis.call('ZREM', DEADLINES, id)
        emit({ type = 'offer.result', at = te, agentId = id, callSid = ref.callSid, queue = ref.queue, result = 'timeout' })
        if te < t then move(key, a, 'break', te, 'missed_offer') end
      elseif a.state == 'wrap_up' then
        local wd = tonumber(a.wrapDeadline) or t
        if wd < t then
          finish(key, a, math.max(tonumber(a.stateSince) or wd, wd), 'not_resolved', 'auto_wrapup', 'available')
        else
          finish(key, a, t, 'not_resolved', 'auto_wrapup', 'offline', 'disconnected')
        end
      end
      if a.state ~= 'offline' then
        move(key, a, 'offline', t, 'disconnected')
        redis.call('ZREM', AVAILABLE, id)
      end
      signedOut[#signedOut + 1] = id
    end
  end
end
out[1] = '{"signedOut":' .. list(signedOut) .. ',"released":' .. list(released) .. '}'
return out
