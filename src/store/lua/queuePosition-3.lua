--[[
  A caller's place in the queue (reads only): the entries ahead of it in `ready` and `held` together,
  the queue's size, and its state and enqueue time.

  KEYS[1] ready  KEYS[2] held  KEYS[3] caller
  ARGV[1] callSid

  Returns { entries ahead, size, state, enqueuedAt } or false when it is not in the queue.
]]
local ready, held = KEYS[1], KEYS[2]
-- @include "queue-entry"
local score = entryScore(ready, held, ARGV[1])
if not score then return false end
local h = redis.call('HMGET', KEYS[3], 's', 't')
return { entriesAhead(ready, held, score), entryCount(ready, held), h[1] or '', h[2] or '' }
