--[[
  Remember Twilio's queue sid (QU...) for a caller, from the waitUrl request. Only for a caller still in
  the queue, so a late waitUrl request does not bring back a record that left. When a bridge is waiting for
  the sid (queueAwaitSid: the agent answered before Twilio's first waitUrl request told it), the wait is
  taken here, once, and its offer returned: this request's handler carries on with the dequeue.

  KEYS[1] caller
  ARGV[1] queueSid

  Returns { 1, offerId-or-'' } when stored, { 0, '' } when the caller is not in the queue
]]
local state = redis.call('HGET', KEYS[1], 's')
if not state or state == 'left' then return { 0, '' } end
redis.call('HSET', KEYS[1], 'Q', ARGV[1])
local waiting = redis.call('HGET', KEYS[1], 'W')
if waiting then
  redis.call('HDEL', KEYS[1], 'W')
  return { 1, waiting }
end
return { 1, '' }
