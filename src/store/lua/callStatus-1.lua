--[[
  Record one status callback for a call, de-duplicated and ordered by Twilio's SequenceNumber.
  Status callbacks arrive out of order and more than once; the call's latest status is the one with the
  highest sequence number seen so far.

  KEYS[1] call status hash ({c:<callSid>}:status): fields s:<seq> = status, latest = seq, status = status
  ARGV[1] sequence number (integer >= 0)
  ARGV[2] CallStatus
  ARGV[3] ttl seconds

  Returns { isNew (0|1), isLatest (0|1), latestStatus }
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
return { 1, isLatest, redis.call('HGET', key, 'status') or '' }
