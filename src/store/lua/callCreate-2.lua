--[[
  A new call's IVR state, stored only if the call has none yet (the incoming-call webhook), with the
  webhook's idempotency token and the state it started from (src/store/call-state.ts) in the same hash.
  One round trip: a retried or duplicated incoming call gets the stored state back instead.

  KEYS[1] the call's state hash ({c:<callSid>}:ivr)
  KEYS[2] the call's state as JSON (the format before the hash, {c:<callSid>}:state): a call that started
          before an upgrade still has it, and is not created again
  ARGV[1] ttl (s)
  ARGV[2..] field, value pairs

  Returns { 'created' } | { 'exists', field, value, ... } | { 'legacy', json }
]]
local h, legacy = KEYS[1], KEYS[2]
local have = redis.call('HGETALL', h)
if #have > 0 then
  table.insert(have, 1, 'exists')
  return have
end
local old = redis.call('GET', legacy)
if old then return { 'legacy', old } end
redis.call('HSET', h, unpack(ARGV, 2))
redis.call('EXPIRE', h, tonumber(ARGV[1]))
return { 'created' }
