-- A queue's entries are the members of two ZSETs with the same kind of score (band * 2^40 + seq): `ready`
-- (claimable now: state waiting or callback) and `held` (offered, callback_offered or bridging). Together
-- they are the whole queue in order; an entry is in exactly one of them.
local function entryScore(ready, held, callSid)
  return redis.call('ZSCORE', ready, callSid) or redis.call('ZSCORE', held, callSid)
end
-- Entries ahead of the score (scores are unique: the sequence is).
local function entriesAhead(ready, held, score)
  return redis.call('ZCOUNT', ready, '-inf', '(' .. score) + redis.call('ZCOUNT', held, '-inf', '(' .. score)
end
local function entryCount(ready, held)
  return redis.call('ZCARD', ready) + redis.call('ZCARD', held)
end
