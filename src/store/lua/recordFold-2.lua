--[[
  Fold one domain event into a call's working record, and once the call has ended (re)append the record
  to the call-records stream as the call's one entry: a later fact about an ended call (wrap-up, survey,
  recording) appends a new revision and deletes the previous entry.

  KEYS[1] the call's working record (HASH {rec}:call:<sid>): record fields, plus `_`-prefixed bookkeeping
          (`_e:<event id>` events folded, `_r:<group>` rank of a group's last write, `_rev`, `_entry`)
  KEYS[2] the call-records stream ({rec}:stream)
  ARGV[1] event id (a digest of the event): an event already folded changes nothing
  ARGV[2] the event's operations, JSON array of arrays of strings:
            {'set', field, value}          HSET
            {'setnx', field, value}        HSETNX (the first fact wins)
            {'add', field, number}         HINCRBYFLOAT (talk, hold, wrap-up, wait summed over legs)
            {'push', field, json}          append the decoded value to the JSON list in field (max 50)
            {'rank', group, rank, f1, v1, ...}  set the fields when rank >= the group's last rank, so
                                           the latest (or stronger) fact wins whatever order events arrive in
  ARGV[3] now (ms, the app clock): the entry id's time and the record's updatedAt
  ARGV[4] retention (ms): entries older than now - retention are trimmed
  ARGV[5] working record TTL (s)
  ARGV[6] the call's CallSid: the stream entry's callSid field (the working record does not repeat it; one
          written before it stopped doing so still has a callSid field, which is not copied twice)

  Returns the stream entry id appended, or false (event already folded, or the call has not ended).
]]
local h, stream = KEYS[1], KEYS[2]
if redis.call('HSETNX', h, '_e:' .. ARGV[1], '1') == 0 then return false end
local ops = cjson.decode(ARGV[2])
for _, op in ipairs(ops) do
  local o = op[1]
  if o == 'set' then
    redis.call('HSET', h, op[2], op[3])
  elseif o == 'setnx' then
    redis.call('HSETNX', h, op[2], op[3])
  elseif o == 'add' then
    redis.call('HINCRBYFLOAT', h, op[2], op[3])
  elseif o == 'push' then
    local raw = redis.call('HGET', h, op[2])
    local list = raw and cjson.decode(raw) or {}
    if #list < 50 then list[#list + 1] = cjson.decode(op[3]) end
    redis.call('HSET', h, op[2], cjson.encode(list))
  elseif o == 'rank' then
    local key = '_r:' .. op[2]
    local cur = tonumber(redis.call('HGET', h, key) or '-1')
    if tonumber(op[3]) >= cur then
      redis.call('HSET', h, key, op[3])
      for i = 4, #op, 2 do redis.call('HSET', h, op[i], op[i + 1]) end
    end
  end
end
redis.call('EXPIRE', h, tonumber(ARGV[5]))
if redis.call('HEXISTS', h, 'endedAt') == 0 then return false end

local rev = redis.call('HINCRBY', h, '_rev', 1)
local all = redis.call('HGETALL', h)
local fields = { 'callSid', ARGV[6], 'revision', tostring(rev), 'updatedAt', ARGV[3] }
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 1) ~= '_' and all[i] ~= 'callSid' then
    fields[#fields + 1] = all[i]
    fields[#fields + 1] = all[i + 1]
  end
end
-- Entry ids in record time; an instance whose clock is behind the stream's last id gets the next id.
local id = redis.pcall('XADD', stream, ARGV[3] .. '-*', unpack(fields))
if type(id) == 'table' and id.err then id = redis.call('XADD', stream, '*', unpack(fields)) end
local prev = redis.call('HGET', h, '_entry')
if prev then redis.call('XDEL', stream, prev) end
redis.call('HSET', h, '_entry', id)
redis.call('XTRIM', stream, 'MINID', string.format('%d', tonumber(ARGV[3]) - tonumber(ARGV[4])))
return id
