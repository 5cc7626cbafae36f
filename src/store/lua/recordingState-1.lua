--[[
  One change to a call's conference recording: a recording status callback from Twilio (in-progress,
  completed, failed, absent), or a pause / resume Twilio carried out. Each callback is applied once (by
  RecordingSid and event), so a retried callback changes nothing and publishes nothing. A status callback
  of an older recording (a call transferred into another recording queue has a second one) does not
  overwrite the status of the newer; a pause or resume applies only to the recording it names, while it
  is live, and only when it changes its status.

  KEYS[1] the call's recording hash ({c:<callSid>}:recording): sid, conferenceSid, queue, status, since,
          url, duration, and seen:<sid>:<event> = 1
  ARGV[1] RecordingSid
  ARGV[2] change: in-progress | completed | failed | absent | paused | resumed
  ARGV[3] ConferenceSid ('' when not known: pause, resume)
  ARGV[4] queue ('' when not known)
  ARGV[5] duration in seconds ('' when not known)
  ARGV[6] recording URL ('' when not known)
  ARGV[7] now (ms)
  ARGV[8] ttl seconds

  Returns { changed (0|1), status of the call's current recording afterwards }
]]
local key = KEYS[1]
local sid, change = ARGV[1], ARGV[2]
local cur = redis.call('HGET', key, 'sid')
local status = redis.call('HGET', key, 'status') or ''
local live = status == 'in-progress' or status == 'paused'

if change == 'paused' or change == 'resumed' then
  local to = change == 'paused' and 'paused' or 'in-progress'
  if cur ~= sid or not live or status == to then return { 0, status } end
  redis.call('HSET', key, 'status', to, 'since', ARGV[7])
  redis.call('EXPIRE', key, tonumber(ARGV[8]))
  return { 1, to }
end

if redis.call('HSETNX', key, 'seen:' .. sid .. ':' .. change, '1') == 0 then return { 0, status } end
local terminal = change ~= 'in-progress'
if cur == false or cur == sid then
  -- This recording's own status; a late in-progress never reopens a recording that has ended.
  local ended = cur == sid and not live and status ~= ''
  if not (ended and not terminal) then
    redis.call('HSET', key, 'sid', sid, 'status', change, 'since', ARGV[7])
    status = change
  end
elseif not terminal then
  -- A newer recording of the same call (after a transfer into another queue that records).
  redis.call('HSET', key, 'sid', sid, 'status', change, 'since', ARGV[7])
  redis.call('HDEL', key, 'url', 'duration')
  status = change
end
if redis.call('HGET', key, 'sid') == sid then
  if ARGV[3] ~= '' then redis.call('HSET', key, 'conferenceSid', ARGV[3]) end
  if ARGV[4] ~= '' then redis.call('HSET', key, 'queue', ARGV[4]) end
  if ARGV[5] ~= '' then redis.call('HSET', key, 'duration', ARGV[5]) end
  if ARGV[6] ~= '' then redis.call('HSET', key, 'url', ARGV[6]) end
end
redis.call('EXPIRE', key, tonumber(ARGV[8]))
return { 1, status }
