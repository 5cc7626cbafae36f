--[[
  Pick the best available agent having every required skill and reserve it for an offer, atomically: two
  routers can never reserve the same agent (the read and the write are one script).

  Candidates are read from `available` in idle order (longest idle first, in batches), so:
    longest_idle  the first eligible agent (the scan stops there)
    round_robin   the smallest lastOfferSeq (each reservation stamps INCR rr); ties go to the longest idle
    fewest_calls  the fewest calls handled today (UTC day of `now`); ties go to the longest idle
  A member whose hash is not 'available' is dropped from the index (self-repair).

  The agent ids come from the index, so the agent hash key is KEYS[5] .. agentId: KEYS[5] is
  keys.agents.agentPrefix (same {agents} tag), so the built keys are in the declared slot.

  KEYS[1] available zset  KEYS[2] offer deadlines zset  KEYS[3] rr counter  KEYS[4] events stream
  KEYS[5] agent key prefix
  KEYS[6] signed-in set  KEYS[7] state set prefix  KEYS[8] state counts hash
  KEYS[9] skill set prefix (KEYS[6]..KEYS[9]: the agent index, include/agent-index.lua)
  ARGV[1] offerId  ARGV[2] queue  ARGV[3] callSid ('' when not known yet)  ARGV[4] contactId ('' if unknown)
  ARGV[5] strategy  ARGV[6] offer deadline (ms)  ARGV[7] now (ms)  ARGV[8] required skills (JSON array)
  ARGV[9] agent ids to skip (JSON array)  ARGV[10] only this agent ('' = any; transfers to a named agent:
  skills are not checked, the transferring agent chose them)

  Returns { JSON {agentId, contact, team} or '' when no agent qualifies, events... }
]]
local AVAILABLE, DEADLINES, RR, EVENTS, PREFIX = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local offerId, queue, callSid, contactId, strategy = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local deadline, now = tonumber(ARGV[6]), tonumber(ARGV[7])
local need = cjson.decode(ARGV[8])
local excluded = {}
for _, id in ipairs(cjson.decode(ARGV[9])) do excluded[id] = true end
local only = ARGV[10] or ''

-- @include "agent-emit"

-- @include "agent-load"

-- @include "agent-index"

-- @include "agent-move"

local today = math.floor(now / 86400000)

local function qualifies(skills)
  local have = ',' .. (skills or '') .. ','
  for _, s in ipairs(need) do
    if not string.find(have, ',' .. s .. ',', 1, true) then return false end
  end
  return true
end

local best, bestRank
local stale = {}
local BATCH = 256
local start = 0
local stop = false
if only ~= '' then
  stop = true
  if not excluded[only] and redis.call('ZSCORE', AVAILABLE, only) then
    if redis.call('HGET', PREFIX .. only, 'state') == 'available' then best = only else stale[1] = only end
  end
end
while not stop do
  local ids = redis.call('ZRANGE', AVAILABLE, start, start + BATCH - 1)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    if not excluded[id] then
      local h = redis.call('HMGET', PREFIX .. id, 'state', 'skills', 'lastOfferSeq', 'callsToday', 'callsDay')
      if h[1] ~= 'available' then
        stale[#stale + 1] = id
      elseif qualifies(h[2]) then
        if strategy == 'longest_idle' then
          best = id
          stop = true
          break
        end
        local rank
        if strategy == 'round_robin' then
          rank = tonumber(h[3]) or 0
        elseif tonumber(h[5]) == today then
          rank = tonumber(h[4]) or 0
        else
          rank = 0
        end
        -- Strictly smaller: among equals the earlier one (longer idle) wins.
        if not best or rank < bestRank then
          best, bestRank = id, rank
        end
      end
    end
  end
  start = start + BATCH
end
for _, id in ipairs(stale) do redis.call('ZREM', AVAILABLE, id) end
if not best then return out end

local key = PREFIX .. best
local a = load(key)
local seq = redis.call('INCR', RR)
redis.call('HSET', key, 'offerId', offerId, 'offerQueue', queue, 'offerCallSid', callSid,
  'offerContactId', contactId, 'offerDeadline', deadline, 'lastOfferSeq', seq)
redis.call('HDEL', key, 'offerResult')
redis.call('ZREM', AVAILABLE, best)
redis.call('ZADD', DEADLINES, deadline, best)
move(key, a, 'reserved', now)
out[1] = cjson.encode({ agentId = best, contact = a.contact or '', team = a.team or '' })
return out
