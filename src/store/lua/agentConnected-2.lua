--[[
  The agent's socket is up on an instance: connected, and any pending sign-out is cancelled. The state is
  not changed (signing in is setState).

  KEYS[1] agent hash  KEYS[2] grace deadlines zset
  ARGV[1] agentId  ARGV[2] instance

  Returns the agent's state
  Errors: NO_SUCH_AGENT
]]
local key, GRACE = KEYS[1], KEYS[2]
local state = redis.call('HGET', key, 'state')
if not state then return redis.error_reply('NO_SUCH_AGENT') end
redis.call('HSET', key, 'connected', 1, 'instance', ARGV[2])
redis.call('HDEL', key, 'graceDeadline')
redis.call('ZREM', GRACE, ARGV[1])
return state
