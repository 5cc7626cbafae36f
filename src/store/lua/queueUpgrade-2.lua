--[[
  Start-up: every entry of the queue written with the long field names of the format before (state,
  callerHash, enqueuedAt, ...) is rewritten with the short ones (src/queue/store.ts), so callers waiting
  across an upgrade are served by the new scripts, which read only the short names. Entries already short
  are left alone (idempotent; every instance runs it at start-up). Tombstones are not rewritten: they
  expire, and the enqueue script reads an old tombstone's state and reason itself.

  Like queueClaim, this script builds caller keys: KEYS[2] is the caller key prefix of this queue
  (keys.queue(q).callerPrefix, same hash tag), so the keys it builds are in the declared slot.

  KEYS[1] waiting  ZSET callSid -> score  KEYS[2] caller key prefix

  Returns the number of entries rewritten.
]]
local NAMES = {
  state = 's', cb = 'b', offerId = 'o', agentId = 'a', enqueuedAt = 't', contactId = 'i', ewtTold = 'e',
  queueSid = 'Q', awaitSid = 'W', offerDeadline = 'd', offeredAt = 'O', bridgingAt = 'g', callbackAt = 'B',
  callerHash = 'c', language = 'l', ivrPath = 'p',
}
local n = 0
for _, callSid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = KEYS[2] .. callSid
  if redis.call('HEXISTS', key, 'state') == 1 then
    local all = redis.call('HGETALL', key)
    local fields = {}
    for i = 1, #all, 2 do
      local f, v = all[i], all[i + 1]
      local name = NAMES[f]
      if f == 'priority' then name = v ~= '0' and 'r' or nil
      elseif f == 'counted' then name = v ~= '1' and 'n' or nil; v = '0'
      elseif string.sub(f, 1, 2) == 'm:' then name = f end
      -- callSid and front: never read; anything else unknown is dropped with them.
      if name then fields[#fields + 1] = name; fields[#fields + 1] = v end
    end
    redis.call('DEL', key)
    if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
    n = n + 1
  end
end
return n
