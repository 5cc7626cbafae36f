--[[
  Start-up, so callers waiting across an upgrade are served by the new scripts:
  - the format before kept every entry in a `waiting` ZSET beside `ready`; its entries that are not in
    `ready` (being offered or bridged) move to `held`, same score, and `waiting` goes;
  - every entry written with the long field names of the format before (state, callerHash, enqueuedAt,
    ...) is rewritten with the short ones (src/queue/store.ts); the new scripts read only those. Tombstones
    are not rewritten: they expire, and the enqueue script reads an old tombstone's state and reason.
  Entries already in the new form are left alone (idempotent; every instance runs it at start-up).

  Like queueClaim, this script builds caller keys: KEYS[2] is the caller key prefix of this queue
  (keys.queue(q).callerPrefix, same hash tag), so the keys it builds are in the declared slot.

  KEYS[1] waiting (the format before) ZSET callSid -> score  KEYS[2] caller key prefix
  KEYS[3] ready  KEYS[4] held

  Returns the number of entries rewritten.
]]
local NAMES = {
  state = 's', cb = 'b', offerId = 'o', agentId = 'a', enqueuedAt = 't', contactId = 'i', ewtTold = 'e',
  queueSid = 'Q', awaitSid = 'W', offerDeadline = 'd', offeredAt = 'O', bridgingAt = 'g', callbackAt = 'B',
  callerHash = 'c', language = 'l', ivrPath = 'p',
}
local ready, held = KEYS[3], KEYS[4]
local moved = redis.call('ZDIFF', 2, KEYS[1], ready, 'WITHSCORES')
for i = 1, #moved, 2 do redis.call('ZADD', held, moved[i + 1], moved[i]) end
redis.call('DEL', KEYS[1])

local n = 0
local function upgrade(callSid)
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
for _, callSid in ipairs(redis.call('ZRANGE', ready, 0, -1)) do upgrade(callSid) end
for _, callSid in ipairs(redis.call('ZRANGE', held, 0, -1)) do upgrade(callSid) end
return n
