--[[
  A caller leaves the queue: answered, abandoned (hung up while waiting) or overflow (max wait, voicemail
  key, ...). Removes every trace of it and emits queue.left with the wait and the first estimate told.

  Idempotent: a caller no longer in the queue answers 'gone' and counts nothing, so Twilio's retried or
  reordered callbacks (the Enqueue action `hangup` arriving after we counted answered) never count twice.
  A callback entry (the caller asked to be called back, then hung up) also answers 'gone': its outcome was
  counted once as callback, and it keeps its place until queueCallbackDone.
  A re-entry (enqueued with countOffer 0) leaves silently: it was never a new offer.
  The wait is ARGV[4] when given (Twilio's QueueTime is the authority), else now - enqueuedAt.
  Leaves a tombstone (caller hash with state 'left', TTL) so a late counted enqueue does not queue it again.
  A counted leave is also added to `left` (score now, member wait|abandoned 0/1|callSid) for the caller
  patience estimate over the capacity window (Σ waits ÷ abandons); entries older than ARGV[14] ms go.

  KEYS[1] held  KEYS[2] ready  KEYS[3] caller  KEYS[4] since  KEYS[5] offering  KEYS[6] callbacks
  KEYS[7] tally    KEYS[8] events   KEYS[9] left  ZSET (patience window)

  ARGV[1] queue name  ARGV[2] callSid  ARGV[3] outcome 'answered' | 'abandoned' | 'overflow'
  ARGV[4] waitSeconds ('' = compute)  ARGV[5] shortAbandonSeconds  ARGV[6] serviceLevelSeconds
  ARGV[7] overflowTarget ('' = none)  ARGV[8] overflowReason ('' = none)  ARGV[9] agentId ('' = the offer's)
  ARGV[10] team ('' = none)  ARGV[11] offerId ('' = no check; for answered it must match the caller's)
  ARGV[12] now (ms)  ARGV[13] tombstone ttl (s)  ARGV[14] left entries kept (ms)

  Returns { 'left' | 'gone', { eventJson... }, state }: state is the caller's state before ('' when it was
  not in the queue), so the Enqueue action knows in the same round trip whether an offer is to be withdrawn
  Errors: STALE_OFFER when answered names an offerId that is not the caller's current offer.
]]
local held, ready, caller, since, offering, callbacks, tally, stream, left =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local queue, callSid, outcome = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[12])

-- @include "queue-entry"
if not entryScore(ready, held, callSid) then return { 'gone', {}, '' } end
local h = redis.call('HMGET', caller, 'b', 'n', 'o', 'a', 't', 'i', 'e', 's')
local cb, counted, offerId, agentId, enqueuedAt, contactId, ewtTold, prior = h[1], h[2], h[3], h[4], h[5], h[6] or callSid, h[7], h[8] or ''
if cb == '1' then return { 'gone', {}, prior } end
if outcome == 'answered' and ARGV[11] ~= '' and offerId ~= ARGV[11] then
  return redis.error_reply('STALE_OFFER ' .. callSid)
end

local wait = tonumber(ARGV[4])
if not wait then wait = (now - (tonumber(enqueuedAt) or now)) / 1000 end
if wait < 0 then wait = 0 end

redis.call('ZREM', held, callSid)
redis.call('ZREM', ready, callSid)
redis.call('ZREM', since, callSid)
redis.call('SREM', offering, callSid)
redis.call('SREM', callbacks, callSid)
redis.call('DEL', caller)
redis.call('HSET', caller, 's', 'left', 'u', outcome, 'R', ARGV[8])
redis.call('EXPIRE', caller, tonumber(ARGV[13]))

if counted == '0' then return { 'left', {}, prior } end

local short = outcome == 'abandoned' and wait < tonumber(ARGV[5])
redis.call('HINCRBY', tally, outcome, 1)
redis.call('HINCRBY', tally, 'in_queue', -1)
if short then redis.call('HINCRBY', tally, 'short_abandoned', 1) end
redis.call('ZADD', left, now, wait .. '|' .. (outcome == 'abandoned' and '1' or '0') .. '|' .. callSid)
redis.call('ZREMRANGEBYSCORE', left, '-inf', '(' .. (now - tonumber(ARGV[14])))

local ev = { type = 'queue.left', at = now, callSid = callSid, queue = queue, contactId = contactId,
  outcome = outcome, waitSeconds = wait, short = short, serviceLevelSeconds = tonumber(ARGV[6]) }
if ARGV[7] ~= '' then ev.overflowTarget = ARGV[7] end
if ARGV[8] ~= '' then ev.overflowReason = ARGV[8] end
if outcome == 'answered' then
  local agent = ARGV[9] ~= '' and ARGV[9] or agentId
  if agent then ev.agentId = agent end
  if ARGV[10] ~= '' then ev.team = ARGV[10] end
end
if ewtTold then ev.ewtToldSeconds = tonumber(ewtTold) end
local json = cjson.encode(ev)
redis.call('XADD', stream, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
return { 'left', { json }, prior }
