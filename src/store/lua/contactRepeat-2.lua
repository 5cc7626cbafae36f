--[[
  A new call from a caller: record it in the caller's recent-call set, and if their last handled call is
  within the repeat window and not yet counted as repeated, mark it repeated and report it.

  KEYS[1] repeat index hash ({x}:repeat): callerHash -> JSON {at, queue, disposition, callSid, repeated}
  KEYS[2] the caller's recent calls zset ({x}:calls:<hash>)
  ARGV[1] callerHash
  ARGV[2] callSid of the new call
  ARGV[3] now (ms)
  ARGV[4] repeat window (ms)

  Returns false when this is not a repeat, else { queue, disposition, callSid of the repeated call }.
]]
local now = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window)
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local h = cjson.decode(raw)
if h.repeated or h.callSid == ARGV[2] or now - tonumber(h.at) > window then return false end
h.repeated = true
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(h))
return { h.queue, h.disposition, h.callSid or '' }
