--[[
  Read only: how many agents having every given skill are staffed (signed in: not offline) and available.

  The agent ids come from the set of all agents, so the agent hash key is KEYS[2] .. agentId
  (keys.agents.agentPrefix, same {agents} tag).

  KEYS[1] all-agents set  KEYS[2] agent key prefix
  ARGV[1] required skills (JSON array)

  Returns { staffed, available }
]]
local ALL, PREFIX = KEYS[1], KEYS[2]
local need = cjson.decode(ARGV[1])
local staffed, available = 0, 0
for _, id in ipairs(redis.call('SMEMBERS', ALL)) do
  local h = redis.call('HMGET', PREFIX .. id, 'state', 'skills')
  if h[1] and h[1] ~= 'offline' then
    local have, ok = ',' .. (h[2] or '') .. ',', true
    for _, s in ipairs(need) do
      if not string.find(have, ',' .. s .. ',', 1, true) then
        ok = false
        break
      end
    end
    if ok then
      staffed = staffed + 1
      if h[1] == 'available' then available = available + 1 end
    end
  end
end
return { staffed, available }
