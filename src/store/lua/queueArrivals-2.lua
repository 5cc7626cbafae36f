--[[
  Counted arrivals at or after a time, for the capacity window: the 10-second buckets from the one that
  holds ARGV[1] on (that bucket counted whole), plus the arrivals of the format before (a ZSET, counted
  exactly) while it lasts after an upgrade. Reads only.

  KEYS[1] arrivals         HASH 10-second bucket -> arrivals, lo / hi (see queueEnqueue)
  KEYS[2] legacy arrivals  ZSET callSid -> ms
  ARGV[1] since (ms)

  Returns the number of arrivals.
]]
local BUCKET_MS = 10000
local from = math.floor(tonumber(ARGV[1]) / BUCKET_MS)
local bounds = redis.call('HMGET', KEYS[1], 'lo', 'hi')
local n = redis.call('ZCOUNT', KEYS[2], ARGV[1], '+inf')
local lo, hi = tonumber(bounds[1]), tonumber(bounds[2])
if not lo or not hi then return n end
if from < lo then from = lo end
if from > hi then return n end
if hi - from + 1 > redis.call('HLEN', KEYS[1]) then
  -- Fewer buckets present than in the range: add up those present.
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if all[i] ~= 'lo' and all[i] ~= 'hi' and b and b >= from then n = n + tonumber(all[i + 1]) end
  end
  return n
end
-- HMGET in chunks (Lua's unpack takes a few thousand values at most).
for start = from, hi, 1000 do
  local fields = {}
  for i = start, math.min(hi, start + 999) do fields[#fields + 1] = i end
  for _, v in ipairs(redis.call('HMGET', KEYS[1], unpack(fields))) do
    if v then n = n + tonumber(v) end
  end
end
return n
