--[[
  One token bucket shared by every instance (src/access/rate-limit.ts): spend `cost` tokens, or only look.
  A single key per limiter and client, so the script runs unchanged on Redis Cluster. A full bucket is
  the same as no bucket, so the key expires once it would have refilled (plus a second of slack).

  KEYS[1] bucket hash (rl:<limiter>:<client>): fields t = tokens, at = ms of that level
  ARGV[1] capacity (burst size)
  ARGV[2] tokens added per second (> 0)
  ARGV[3] cost
  ARGV[4] 'take' (spend when available) or 'check' (spend nothing)
  ARGV[5] now in ms, or '' for the Redis server's clock (one clock for every instance)

  Returns { ok (0|1), retryAfterMs (0 when ok) }
]]
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local tokens = capacity
local b = redis.call('HMGET', key, 't', 'at')
if b[1] and b[2] then
  local elapsed = math.max(0, now - tonumber(b[2]))
  tokens = math.min(capacity, tonumber(b[1]) + elapsed / 1000 * rate)
end

if tokens < cost then
  return { 0, math.ceil((cost - tokens) / rate * 1000) }
end
if ARGV[4] == 'take' then
  tokens = tokens - cost
  redis.call('HSET', key, 't', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / rate * 1000) + 1000)
end
return { 1, 0 }
