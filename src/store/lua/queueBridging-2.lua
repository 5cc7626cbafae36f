--[[
  The agent accepted the offer: the entry becomes 'bridging' (no longer counted as being offered). It keeps
  its place until queueLeave 'answered' (or queueCallbackDone for a callback). Idempotent for the same offer.

  KEYS[1] caller  KEYS[2] offering
  ARGV[1] callSid  ARGV[2] offerId  ARGV[3] now (ms)

  Returns 'bridging' | 'gone'
  Errors: STALE_OFFER when offerId is not the caller's current offer.
]]
local caller, offering = KEYS[1], KEYS[2]
local h = redis.call('HMGET', caller, 's', 'o')
local state, offerId = h[1], h[2]
if not state or state == 'left' then return 'gone' end
if offerId ~= ARGV[2] then return redis.error_reply('STALE_OFFER ' .. ARGV[1]) end
if state == 'bridging' then return 'bridging' end
redis.call('HSET', caller, 's', 'bridging', 'g', ARGV[3])
redis.call('SREM', offering, ARGV[1])
return 'bridging'
