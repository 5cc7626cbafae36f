--[[
  A callback entry is finished (the call back connected, or finally failed): it is removed and its place
  freed. Its queue outcome was counted once when it was requested (queue.left 'callback'), so no second
  queue.left; a callback.attempt event records how it ended, and tally counts callback_connected or
  callback_failed. Leaves a tombstone.

  KEYS[1] held  KEYS[2] ready  KEYS[3] caller  KEYS[4] callbacks  KEYS[5] offering  KEYS[6] tally
  KEYS[7] events
  ARGV[1] queue name  ARGV[2] callSid  ARGV[3] result 'connected' | 'no_answer' | 'busy' | 'failed'
  ARGV[4] now (ms)  ARGV[5] tombstone ttl (s)

  Returns { 'removed' | 'gone', { eventJson... } }
  Errors: BAD_STATE when the entry is a caller on the line, not a callback.
]]
local held, ready, caller, callbacks, offering, tally, stream =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local queue, callSid, result = ARGV[1], ARGV[2], ARGV[3]
-- @include "queue-entry"
if not entryScore(ready, held, callSid) then return { 'gone', {} } end
if redis.call('HGET', caller, 'b') ~= '1' then return redis.error_reply('BAD_STATE ' .. callSid .. ' is not a callback') end

redis.call('ZREM', held, callSid)
redis.call('ZREM', ready, callSid)
redis.call('SREM', callbacks, callSid)
redis.call('SREM', offering, callSid)
redis.call('DEL', caller)
redis.call('HSET', caller, 's', 'left', 'u', 'callback', 'R', result)
redis.call('EXPIRE', caller, tonumber(ARGV[5]))
redis.call('HINCRBY', tally, result == 'connected' and 'callback_connected' or 'callback_failed', 1)

local ev = { type = 'callback.attempt', at = tonumber(ARGV[4]), callSid = callSid, queue = queue, result = result }
local json = cjson.encode(ev)
redis.call('XADD', stream, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
return { 'removed', { json } }
