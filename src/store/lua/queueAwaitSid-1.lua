--[[
  A bridge needs the caller's queue sid to dequeue them, and Twilio has not told it yet (its first waitUrl
  request can trail a fast accept). Atomically: the sid when it is known already, else mark the caller as
  awaited by this offer, so the waitUrl request that brings the sid carries on (queueSetSid returns the
  offer). Only while the caller is being bridged under this offer.

  KEYS[1] caller
  ARGV[1] offerId

  Returns { 'sid', queueSid } | { 'waiting', '' } | { 'gone', '' } (not being bridged under this offer)
]]
local h = redis.call('HMGET', KEYS[1], 's', 'o', 'Q')
if h[1] ~= 'bridging' or h[2] ~= ARGV[1] then return { 'gone', '' } end
if h[3] and h[3] ~= '' then return { 'sid', h[3] } end
redis.call('HSET', KEYS[1], 'W', ARGV[1])
return { 'waiting', '' }
