--[[
  Save a call's IVR state (src/store/call-state.ts): the fields given are set, the state fields the state
  no longer has are deleted, and the hash's TTL is refreshed. A webhook that answers idempotently passes
  its token, time and starting state (T, W, P) with them, so the answer is remembered in the same write;
  other saves leave T, W, P as they are. The JSON state of the format before the hash goes (upgrade).

  KEYS[1] the call's state hash ({c:<callSid>}:ivr)
  KEYS[2] the call's state as JSON, the format before the hash ({c:<callSid>}:state)
  ARGV[1] ttl (s)
  ARGV[2] n: how many fields to delete
  ARGV[3 .. 2+n] fields to delete
  ARGV[3+n ..] field, value pairs to set

  Returns 'ok'
]]
local h = KEYS[1]
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HDEL', h, unpack(ARGV, 3, 2 + n)) end
redis.call('HSET', h, unpack(ARGV, 3 + n))
redis.call('EXPIRE', h, tonumber(ARGV[1]))
redis.call('DEL', KEYS[2])
return 'ok'
