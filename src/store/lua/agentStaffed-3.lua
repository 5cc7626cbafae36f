--[[
  Read only: how many agents having every given skill are staffed (signed in: not offline) and available,
  from the agent index (include/agent-index.lua): set intersections (SINTERCARD walks the smallest set),
  never a walk over all agents.

  KEYS[1] signed-in set  KEYS[2] available state set  KEYS[3] skill set prefix
  ARGV[1] required skills (JSON array)  ARGV[2] limit (0: exact counts; n > 0: each count stops at n)

  Returns { staffed, available }
]]
local IX_IN, AVAILABLE, IX_SKILL = KEYS[1], KEYS[2], KEYS[3]
local need, limit = cjson.decode(ARGV[1]), tonumber(ARGV[2]) or 0

local function card(sets)
  local args = { #sets }
  for _, k in ipairs(sets) do args[#args + 1] = k end
  if limit > 0 then
    args[#args + 1] = 'LIMIT'
    args[#args + 1] = limit
  end
  return redis.call('SINTERCARD', unpack(args))
end

if #need == 0 then return { card({ IX_IN }), card({ AVAILABLE }) } end
local sets = {}
for i, s in ipairs(need) do sets[i] = IX_SKILL .. s end
local staffed = card(sets)
sets[#sets + 1] = AVAILABLE
return { staffed, card(sets) }
