--[[
  Record an estimated wait told to the caller: the first one is kept as ewtTold (the estimate's accuracy is
  measured against it when the caller leaves); every announcement emits ewt.announced.

  KEYS[1] caller  KEYS[2] events
  ARGV[1] queue name  ARGV[2] callSid  ARGV[3] seconds  ARGV[4] position  ARGV[5] now (ms)

  Returns { 'first' | 'again' | 'gone', { eventJson... } }
]]
local caller, stream = KEYS[1], KEYS[2]
local state = redis.call('HGET', caller, 's')
if not state or state == 'left' then return { 'gone', {} } end
local first = redis.call('HSETNX', caller, 'e', ARGV[3])
local ev = { type = 'ewt.announced', at = tonumber(ARGV[5]), callSid = ARGV[2], queue = ARGV[1],
  seconds = tonumber(ARGV[3]), position = tonumber(ARGV[4]) }
local json = cjson.encode(ev)
redis.call('XADD', stream, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
return { first == 1 and 'first' or 'again', { json } }
