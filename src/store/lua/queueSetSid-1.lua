--[[
  Remember Twilio's queue sid (QU...) for a caller, from the waitUrl request. Only for a caller still in
  the queue, so a late waitUrl request does not bring back a record that left.

  KEYS[1] caller
  ARGV[1] queueSid

  Returns 1 when stored, 0 when the caller is not in the queue
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'left' then return 0 end
redis.call('HSET', KEYS[1], 'queueSid', ARGV[1])
return 1
