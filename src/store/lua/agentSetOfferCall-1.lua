--[[
  Attach the caller to an agent's reservation once the router has claimed one (routers reserve the agent
  first, then claim a caller). Idempotent.

  KEYS[1] agent hash
  ARGV[1] offerId  ARGV[2] callSid  ARGV[3] contactId ('' to keep)

  Returns 'ok'
  Errors: NO_SUCH_AGENT, STALE_OFFER (not the agent's current reservation)
]]
local key = KEYS[1]
local h = redis.call('HMGET', key, 'state', 'offerId')
if not h[1] then return redis.error_reply('NO_SUCH_AGENT') end
if h[1] ~= 'reserved' or h[2] ~= ARGV[1] then return redis.error_reply('STALE_OFFER') end
redis.call('HSET', key, 'offerCallSid', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', key, 'offerContactId', ARGV[3]) end
return 'ok'
