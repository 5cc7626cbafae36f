--[[
  The caller and the agent are actually bridged: talk time is re-stamped from now (the ringing between
  accept and bridge is not talk), and the contactId recorded. Only the first call for a call counts.

  KEYS[1] agent hash
  ARGV[1] callSid  ARGV[2] contactId ('' to keep)  ARGV[3] now (ms)

  Returns 'connected' | 'already'
  Errors: NO_SUCH_AGENT, WRONG_CALL (the agent is not on that call)
]]
local key = KEYS[1]
local h = redis.call('HMGET', key, 'state', 'callSid', 'connectedAt')
if not h[1] then return redis.error_reply('NO_SUCH_AGENT') end
if h[1] ~= 'on_call' or h[2] ~= ARGV[1] then return redis.error_reply('WRONG_CALL') end
if h[3] then return 'already' end
redis.call('HSET', key, 'connectedAt', ARGV[3], 'talkStartedAt', ARGV[3])
if ARGV[2] ~= '' then redis.call('HSET', key, 'contactId', ARGV[2]) end
return 'connected'
