-- Reply: { result JSON or '', event JSON... }. Every event is appended to the stream as it happens.
local out = { '' }
local function emit(ev)
  local json = cjson.encode(ev)
  redis.call('XADD', EVENTS, 'MAXLEN', '~', 10000, '*', 'type', ev.type, 'data', json)
  out[#out + 1] = json
end
