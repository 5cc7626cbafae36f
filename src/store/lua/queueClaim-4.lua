--[[
  Claim the first claimable entry for an offer: the lowest score in `ready` (the entries in state 'waiting'
  or 'callback'; those being offered or bridged are in `held`), so they are skipped without scanning
  them: O(log n) however many entries are being offered. The claimed entry moves to `held`, same score. Atomic, so concurrent claimers
  never get the same caller (the jambonz ZRANGE-then-ZREM race cannot happen inside one script).

  The callSid is only known here, so the caller hash key is KEYS[3] .. callSid: KEYS[3] is the caller key
  prefix of this queue (keys.queue(q).callerPrefix, same hash tag), so the built key is in the declared
  slot. This script and queueUpgrade are the ones that append to a key name.

  KEYS[1] ready  KEYS[2] offering  KEYS[3] caller key prefix  KEYS[4] held
  ARGV[1] offerId  ARGV[2] agentId  ARGV[3] offer deadline (ms)  ARGV[4] now (ms)

  Returns the claimed caller hash as a flat field/value array, short field names (src/queue/store.ts; state
  s already 'offered' or 'callback_offered'; b = '1' for a callback) followed by 'callSid', callSid (the
  hash does not hold it, and no short name is that long), or nil when nothing is claimable.
]]
local ready, offering, prefix, held = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- Bounded: each pass moves one member to `held`; a member whose hash disagrees is no longer claimable
-- (self-repair: it keeps its place until it leaves).
for _ = 1, 100 do
  local top = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  local callSid = top[1]
  if not callSid then return false end
  redis.call('ZREM', ready, callSid)
  redis.call('ZADD', held, top[2], callSid)
  local key = prefix .. callSid
  local state = redis.call('HGET', key, 's')
  if state == 'waiting' or state == 'callback' then
    redis.call('HSET', key, 's', state == 'waiting' and 'offered' or 'callback_offered',
      'o', ARGV[1], 'a', ARGV[2], 'd', ARGV[3], 'O', ARGV[4])
    redis.call('SADD', offering, callSid)
    local h = redis.call('HGETALL', key)
    h[#h + 1] = 'callSid'
    h[#h + 1] = callSid
    return h
  end
end
return false
