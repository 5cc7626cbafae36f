--[[
  Record one status callback for a call, de-duplicated and ordered by Twilio's SequenceNumber.
  Status callbacks arrive out of order and more than once; the call's latest status is the one with the
  highest sequence number seen so far.

  With ARGV[4] = '1' (a final status: the webhook ends the call) a new callback also reads the call's
  state in the same round trip.

  KEYS[1] call status hash ({c:<callSid>}:status): fields s:<seq> = status, latest = seq, status = status
  KEYS[2] the call's state hash ({c:<callSid>}:ivr)
  KEYS[3] the call's state as JSON (the format before the hash, {c:<callSid>}:state)
  ARGV[1] sequence number (integer >= 0)
  ARGV[2] CallStatus
  ARGV[3] ttl seconds
  ARGV[4] '1': read the call's state when the callback is new; '0': do not

  Returns { isNew (0|1), isLatest (0|1), latestStatus }, and when the state was read:
    { ..., 'hash', field, value, ... } | { ..., 'legacy', json } | { ..., 'none' }
]]
local key = KEYS[1]
local seq = tonumber(ARGV[1])
local field = 's:' .. ARGV[1]
if redis.call('HSETNX', key, field, ARGV[2]) == 0 then
  return { 0, 0, redis.call('HGET', key, 'status') or '' }
end
local latest = tonumber(redis.call('HGET', key, 'latest') or '-1')
local isLatest = 0
if seq > latest then
  redis.call('HSET', key, 'latest', seq, 'status', ARGV[2])
  isLatest = 1
end
redis.call('EXPIRE', key, tonumber(ARGV[3]))
local out = { 1, isLatest, redis.call('HGET', key, 'status') or '' }
if ARGV[4] ~= '1' then return out end
local h = redis.call('HGETALL', KEYS[2])
if #h > 0 then
  out[4] = 'hash'
  for i = 1, #h do out[4 + i] = h[i] end
  return out
end
local old = redis.call('GET', KEYS[3])
if old then
  out[4] = 'legacy'
  out[5] = old
else
  out[4] = 'none'
end
return out
