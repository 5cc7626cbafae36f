--[[
  The caller asks to be called back: it keeps its place (and stays claimable in `ready`), its
  state becomes 'callback', it joins `callbacks` and leaves `since` (it is no longer on the line), and
  queue.left with outcome 'callback' is emitted once (a callback is not an abandon). Idempotent: a second
  request answers 'already'. A caller being offered or bridged to an agent right now is not converted
  ('being_offered'): an agent is about to take the call. A re-entry (countOffer 0) emits no queue.left.

  KEYS[1] ready  KEYS[2] caller  KEYS[3] since  KEYS[4] callbacks  KEYS[5] tally  KEYS[6] events
  KEYS[7] held

  ARGV[1] queue name  ARGV[2] callSid  ARGV[3] serviceLevelSeconds  ARGV[4] now (ms)
  ARGV[5] waitSeconds ('' = now - enqueuedAt; Twilio's QueueTime when known)

  Returns { 'requested' | 'already' | 'being_offered' | 'gone', { eventJson... } }
]]
local ready, caller, since, callbacks, tally, stream, held = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- @include "queue-entry"
local queue, callSid = ARGV[1], ARGV[2]
local now = tonumber(ARGV[4])

if not entryScore(ready, held, callSid) then return { 'gone', {} } end
local h = redis.call('HMGET', caller, 's', 'b', 'n', 't', 'i', 'e')
local state, cb, counted, enqueuedAt, contactId, ewtTold = h[1], h[2], h[3], h[4], h[5] or callSid, h[6]
if cb == '1' then return { 'already', {} } end
if state ~= 'waiting' then return { 'being_offered', {} } end

redis.call('HSET', caller, 's', 'callback', 'b', '1', 'B', now)
redis.call('SADD', callbacks, callSid)
redis.call('ZREM', since, callSid)
if counted == '0' then return { 'requested', {} } end

local wait = tonumber(ARGV[5])
if not wait then wait = (now - (tonumber(enqueuedAt) or now)) / 1000 end
if wait < 0 then wait = 0 end
redis.call('HINCRBY', tally, 'callback', 1)
redis.call('HINCRBY', tally, 'in_queue', -1)
local ev = { type = 'queue.left', at = now, callSid = callSid, queue = queue, contactId = contactId,
  outcome = 'callback', waitSeconds = wait, short = false, serviceLevelSeconds = tonumber(ARGV[3]) }
if ewtTold then ev.ewtToldSeconds = tonumber(ewtTold) end
local json = cjson.encode(ev)
redis.call('XADD', stream, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
return { 'requested', { json } }
