--[[
  Fold a call's domain events (those one webhook or action published together, in order) into its working
  record, and once the call has ended (re)append the record to the call-records stream as the call's one
  entry: a later fact about an ended call (wrap-up, survey, recording) appends a new revision and deletes
  the previous entry. One revision per call of this script, however many of its events changed the record.

  The working record keeps each record field under a one-character name (F below; the public names are
  the ops' and the stream entry's, so the record's format does not change) and its bookkeeping under
  `_` names: `_r<group>` the rank of a group's last write, `_v` the revision, `_n` the stream entry id,
  `_e:<event id>` each event folded whose ops add or push (the only ops that would change the record
  again if the event were folded twice). An event of set / setnx / rank ops is its own guard: folded again
  it changes nothing, and an event that changes nothing appends no revision.

  KEYS[1] the call's working record (HASH {rec}:c:<sid>)
  KEYS[2] the call-records stream ({rec}:stream)
  KEYS[3] the call's working record in the format before (HASH {rec}:call:<sid>, long field names, an
          `_e:<event id>` field per event): a call in flight across an upgrade; moved into KEYS[1] once
  ARGV[1] now (ms, the app clock): the entry id's time and the record's updatedAt
  ARGV[2] retention (ms): entries older than now - retention are trimmed
  ARGV[3] working record TTL (s)
  ARGV[4] the call's CallSid: the stream entry's callSid field (the working record does not repeat it)
  ARGV[5], ARGV[6], ... per event, in order: its id (a digest of the event; '' for an event without add or
          push ops, which does not need one) and its operations, JSON array of arrays of strings:
            {'set', field, value}          HSET
            {'setnx', field, value}        HSETNX (the first fact wins)
            {'add', field, number}         HINCRBYFLOAT (talk, hold, wrap-up, wait summed over legs)
            {'push', field, json}          append the decoded value to the JSON list in field (max 50)
            {'rank', group, rank, f1, v1, ...}  set the fields when rank >= the group's last rank, so
                                           the latest (or stronger) fact wins whatever order events arrive in

  Returns the stream entry id appended, or false (every event already folded, nothing changed, or the call
  has not ended).
]]
local h, stream, old = KEYS[1], KEYS[2], KEYS[3]
-- Record field → working-record name. A name not listed is kept as it is (none today).
local F = {
  startedAt = 's', endedAt = 'e', endStatus = 'S', durationSeconds = 'D', flow = 'f', callerKey = 'k',
  numberCalled = 'N', language = 'l', ivrExit = 'x', ivrPath = 'p', voicemailSid = 'V', queue = 'q',
  outcome = 'o', waitSeconds = 'w', overflowTarget = 'T', overflowReason = 'R', agent = 'a', agents = 'A',
  callbackResult = 'c', talkSeconds = 't', holdSeconds = 'h', wrapUpSeconds = 'u', disposition = 'd',
  dispositionCode = 'C', repeatContact = 'r', repeatOf = 'O', csat = '1', nps = '2', ces = '3',
  transfers = 'X', recordingSid = 'g', recordingUrl = 'U', recordingDurationSeconds = 'G',
}
local RANK = { language = 'l', ivr = 'i', outcome = 'o', callback = 'c', disposition = 'd', recording = 'g' }
local function short(name) return F[name] or name end
local function rankKey(group) return '_r' .. (RANK[group] or group) end

-- A working record of the format before: moved into the new one, field by field (once per call).
if redis.call('EXISTS', old) == 1 then
  if redis.call('EXISTS', h) == 0 then
    local all = redis.call('HGETALL', old)
    local fields = {}
    for i = 1, #all, 2 do
      local f, v = all[i], all[i + 1]
      local name = nil
      if string.sub(f, 1, 3) == '_e:' then name = f
      elseif string.sub(f, 1, 3) == '_r:' then name = rankKey(string.sub(f, 4))
      elseif f == '_rev' then name = '_v'
      elseif f == '_entry' then name = '_n'
      elseif f ~= 'callSid' then name = short(f) end
      if name then fields[#fields + 1] = name; fields[#fields + 1] = v end
    end
    if #fields > 0 then redis.call('HSET', h, unpack(fields)) end
  end
  redis.call('DEL', old)
end

local changed = false
local function set(f, v)
  if redis.call('HGET', h, f) ~= v then
    redis.call('HSET', h, f, v)
    changed = true
  end
end

-- One event. An event with add or push ops is folded once (its id is remembered); the others are idempotent.
local function fold(id, ops)
  local guarded = false
  for _, op in ipairs(ops) do
    if op[1] == 'add' or op[1] == 'push' then guarded = true end
  end
  if guarded then
    if redis.call('HSETNX', h, '_e:' .. id, '1') == 0 then return end
    changed = true
  end
  for _, op in ipairs(ops) do
    local o = op[1]
    if o == 'set' then
      set(short(op[2]), op[3])
    elseif o == 'setnx' then
      if redis.call('HSETNX', h, short(op[2]), op[3]) == 1 then changed = true end
    elseif o == 'add' then
      redis.call('HINCRBYFLOAT', h, short(op[2]), op[3])
    elseif o == 'push' then
      local f = short(op[2])
      local raw = redis.call('HGET', h, f)
      local list = raw and cjson.decode(raw) or {}
      if #list < 50 then list[#list + 1] = cjson.decode(op[3]) end
      redis.call('HSET', h, f, cjson.encode(list))
    elseif o == 'rank' then
      local key = rankKey(op[2])
      local cur = tonumber(redis.call('HGET', h, key) or '-1')
      if tonumber(op[3]) >= cur then
        set(key, op[3])
        for i = 4, #op, 2 do set(short(op[i]), op[i + 1]) end
      end
    end
  end
end

for i = 5, #ARGV, 2 do fold(ARGV[i], cjson.decode(ARGV[i + 1])) end
redis.call('EXPIRE', h, tonumber(ARGV[3]))
if not changed or redis.call('HEXISTS', h, F.endedAt) == 0 then return false end

local rev = redis.call('HINCRBY', h, '_v', 1)
local all = redis.call('HGETALL', h)
local fields = { 'callSid', ARGV[4], 'revision', tostring(rev), 'updatedAt', ARGV[1] }
local NAME = {}
for name, f in pairs(F) do NAME[f] = name end
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 1) ~= '_' then
    fields[#fields + 1] = NAME[f] or f
    fields[#fields + 1] = all[i + 1]
  end
end
-- Entry ids in record time; an instance whose clock is behind the stream's last id gets the next id.
local id = redis.pcall('XADD', stream, ARGV[1] .. '-*', unpack(fields))
if type(id) == 'table' and id.err then id = redis.call('XADD', stream, '*', unpack(fields)) end
local prev = redis.call('HGET', h, '_n')
if prev then redis.call('XDEL', stream, prev) end
redis.call('HSET', h, '_n', id)
redis.call('XTRIM', stream, 'MINID', string.format('%d', tonumber(ARGV[1]) - tonumber(ARGV[2])))
return id
