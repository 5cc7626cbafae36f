--[[
  Put a caller in a queue, or decide at once that it overflows (queue full, no agents staffed).

  Order: score = band * 2^40 + seq, band = (9 - priority) * 2 + (front and 0 or 1), seq from INCR, so the
  queue (`ready` and `held` together, see include/queue-entry.lua) is exact FIFO within a priority, higher
  priorities first, and `front` entries (transfers) go ahead of every ordinary entry of their priority.
  Position = entries with a lower score in both + 1.

  Idempotent: a callSid already in the queue answers 'already' and changes nothing. A callSid that left
  this queue recently (tombstone: caller hash with state 'left') is not queued again by a counted enqueue
  (a retried or reordered webhook); it answers the same 'full' / 'no_agents' it got, or 'gone'.
  A re-entry (countOffer 0: transfer, callback re-entry) is the same contact, not a new offer: no
  queue.offered, no arrival, and its later departure emits no queue.left (see queueLeave).

  full / no_agents: a counted call is offered and at once leaves as overflow with wait 0 (queue.offered
  then queue.left, tally offered + 1 and overflow + 1), so offered = answered + abandoned + overflow +
  callback + in_queue holds. "Full" counts the callers on the line (callbacks hold a place but are not on
  the line, as Twilio's MaxQueueSize counts them).

  KEYS[1] held      ZSET entries being offered or bridged, callSid -> score
  KEYS[2] ready     ZSET claimable entries, callSid -> score
  KEYS[3] caller    HASH of this caller
  KEYS[4] seq       STRING sequence
  KEYS[5] since     ZSET callSid -> enqueuedAt (callers on the line)
  KEYS[6] callbacks SET
  KEYS[7] arrivals  HASH 10-second bucket -> counted arrivals (capacity window), and lo / hi: the lowest
                    and highest bucket that may be present
  KEYS[8] tally     HASH counters
  KEYS[9] events    STREAM
  KEYS[10] legacy arrivals ZSET callSid -> ms (the format before KEYS[7]): given ARGV[15] ms to live

  ARGV[1] queue name        ARGV[2] callSid          ARGV[3] contactId      ARGV[4] callerHash
  ARGV[5] priority 0..9     ARGV[6] front 0|1        ARGV[7] countOffer 0|1 ARGV[8] maxLength
  ARGV[9] overflow because no agents are staffed 0|1 ARGV[10] overflowTarget ('' = none)
  ARGV[11] serviceLevelSeconds  ARGV[12] language ('' = none)  ARGV[13] ivrPath ('' = none)
  ARGV[14] now (ms)         ARGV[15] arrivals kept (ms)       ARGV[16] tombstone ttl (s)
  ARGV[17..] meta as field, value pairs (the caller hash's field names: 'm:<name>', or short ones)

  Returns { result, position, size, { eventJson... } }
    result: 'queued' | 'already' | 'full' | 'no_agents' | 'gone'; position/size 0 unless queued/already
]]
local held, ready, caller, seqKey, since, callbacks, arrivals, tally, stream =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local BUCKET_MS = 10000
local queue, callSid, contactId, callerHash = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local priority = tonumber(ARGV[5])
local front = ARGV[6] == '1'
local countOffer = ARGV[7] == '1'
local maxLength = tonumber(ARGV[8])
local noAgents = ARGV[9] == '1'
local overflowTarget = ARGV[10]
local serviceLevelSeconds = tonumber(ARGV[11])
local now = tonumber(ARGV[14])
local keepMs = tonumber(ARGV[15])
local ttl = tonumber(ARGV[16])

-- @include "queue-entry"

local events = {}
local function emit(ev)
  local json = cjson.encode(ev)
  redis.call('XADD', stream, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
  events[#events + 1] = json
end

local score0 = entryScore(ready, held, callSid)
if score0 then
  return { 'already', entriesAhead(ready, held, score0) + 1, entryCount(ready, held), {} }
end

-- A tombstone; one written before the short field names says state / reason.
local tomb = countOffer and redis.call('HMGET', caller, 's', 'R', 'state', 'reason') or {}
if tomb[1] == 'left' or tomb[3] == 'left' then
  local reason = tomb[2] or tomb[4]
  if reason == 'max_length' then return { 'full', 0, 0, {} } end
  if reason == 'no_agents' then return { 'no_agents', 0, 0, {} } end
  return { 'gone', 0, 0, {} }
end
-- A tombstone (or any leftover) of this call goes; a re-entry starts a fresh record.
redis.call('DEL', caller)

if countOffer then
  redis.call('HINCRBY', tally, 'offered', 1)
  -- One more arrival in its 10-second bucket; buckets wholly older than the kept time go (at most as many
  -- deletions as the buckets since the last one, or as the hash holds).
  local b = math.floor(now / BUCKET_MS)
  local cut = math.floor((now - keepMs) / BUCKET_MS)
  local bounds = redis.call('HMGET', arrivals, 'lo', 'hi')
  local lo, hi = tonumber(bounds[1]) or b, tonumber(bounds[2]) or b
  if lo < cut then
    if cut - lo > redis.call('HLEN', arrivals) then
      local fields = redis.call('HKEYS', arrivals)
      for _, f in ipairs(fields) do
        local n = tonumber(f)
        if n and n < cut then redis.call('HDEL', arrivals, f) end
      end
    else
      for i = lo, cut - 1 do redis.call('HDEL', arrivals, i) end
    end
    lo = cut
  end
  redis.call('HINCRBY', arrivals, b, 1)
  redis.call('HSET', arrivals, 'lo', math.min(lo, b), 'hi', math.max(hi, b))
  redis.call('PEXPIRE', KEYS[10], keepMs, 'NX')
  emit({ type = 'queue.offered', at = now, callSid = callSid, queue = queue, contactId = contactId, priority = priority })
end

local reason = nil
if noAgents then
  reason = 'no_agents'
elseif entryCount(ready, held) - redis.call('SCARD', callbacks) >= maxLength then
  reason = 'max_length'
end
if reason then
  if countOffer then
    redis.call('HINCRBY', tally, 'overflow', 1)
    local ev = { type = 'queue.left', at = now, callSid = callSid, queue = queue, contactId = contactId,
      outcome = 'overflow', waitSeconds = 0, short = false, serviceLevelSeconds = serviceLevelSeconds,
      overflowReason = reason }
    if overflowTarget ~= '' then ev.overflowTarget = overflowTarget end
    emit(ev)
  end
  redis.call('HSET', caller, 's', 'left', 'u', 'overflow', 'R', reason)
  redis.call('EXPIRE', caller, ttl)
  return { reason == 'max_length' and 'full' or 'no_agents', 0, 0, events }
end

local seq = redis.call('INCR', seqKey)
local band = (9 - priority) * 2 + (front and 0 or 1)
local score = band * 1099511627776 + seq
redis.call('ZADD', ready, score, callSid)
redis.call('ZADD', since, now, callSid)

-- Short field names (see src/queue/store.ts); no callSid (it is in the key), no contactId when it is the
-- callSid, no priority 0, and `n` only for an entry that is not counted (a re-entry).
local fields = { 'c', callerHash, 't', now, 's', 'waiting' }
if priority ~= 0 then fields[#fields + 1] = 'r'; fields[#fields + 1] = priority end
if not countOffer then fields[#fields + 1] = 'n'; fields[#fields + 1] = '0' end
if contactId ~= callSid then fields[#fields + 1] = 'i'; fields[#fields + 1] = contactId end
if ARGV[12] ~= '' then fields[#fields + 1] = 'l'; fields[#fields + 1] = ARGV[12] end
if ARGV[13] ~= '' then fields[#fields + 1] = 'p'; fields[#fields + 1] = ARGV[13] end
for i = 17, #ARGV - 1, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', caller, unpack(fields))
redis.call('HINCRBY', tally, countOffer and 'in_queue' or 'reentered', 1)

return { 'queued', entriesAhead(ready, held, score) + 1, entryCount(ready, held), events }
