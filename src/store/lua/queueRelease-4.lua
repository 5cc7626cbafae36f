--[[
  Give a claimed entry back (offer rejected or timed out, agent's leg failed): state returns to 'waiting'
  (or 'callback' for a callback) and it is claimable again with its old score, so it keeps its place.
  A stale release (offerId is not the caller's current offer) changes nothing.

  KEYS[1] held  KEYS[2] ready  KEYS[3] caller  KEYS[4] offering
  ARGV[1] callSid  ARGV[2] offerId

  Returns 'released' | 'stale' | 'gone'
]]
local held, ready, caller, offering = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- @include "queue-entry"
local callSid = ARGV[1]
local score = entryScore(ready, held, callSid)
if not score then return 'gone' end
local h = redis.call('HMGET', caller, 's', 'o', 'b')
local state, offerId, cb = h[1], h[2], h[3]
if offerId ~= ARGV[2] or not (state == 'offered' or state == 'callback_offered' or state == 'bridging') then
  return 'stale'
end
redis.call('HSET', caller, 's', cb == '1' and 'callback' or 'waiting')
redis.call('HDEL', caller, 'o', 'a', 'd', 'O', 'g', 'W')
redis.call('SREM', offering, callSid)
redis.call('ZREM', held, callSid)
redis.call('ZADD', ready, score, callSid)
return 'released'
