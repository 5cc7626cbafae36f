--[[
  The agent's last socket on an instance closed: unless the agent has meanwhile connected to another
  instance, it has graceMs to come back before it is signed out. A repeated report keeps the first deadline.
  An offline agent needs no grace.

  KEYS[1] agent hash  KEYS[2] grace deadlines zset
  ARGV[1] agentId  ARGV[2] instance  ARGV[3] graceMs  ARGV[4] now (ms)

  Returns the sign-out deadline (ms), or false when none applies
  Errors: NO_SUCH_AGENT
]]
local key, GRACE = KEYS[1], KEYS[2]
local id, instance, graceMs, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', key, 'state', 'instance', 'connected', 'graceDeadline')
if not h[1] then return redis.error_reply('NO_SUCH_AGENT') end
if h[2] and h[2] ~= '' and h[2] ~= instance then return false end
if h[3] == '0' and h[4] then return tonumber(h[4]) end
redis.call('HSET', key, 'connected', 0)
if h[1] == 'offline' then return false end
local deadline = now + graceMs
redis.call('HSET', key, 'graceDeadline', deadline, 'graceMs', graceMs)
redis.call('ZADD', GRACE, deadline, id)
return deadline
