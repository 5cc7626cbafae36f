--[[
  Recompute the agent index (include/agent-index.lua) from the agent hashes: run once at start-up, so a
  deployment whose index is missing (an upgrade) or was changed by hand is right before routing starts. The
  one script that walks every agent; atomic, so instances starting together or running meanwhile see either
  the old index or the new one, and running it again changes nothing.

  KEYS[1] all-agents set  KEYS[2] agent key prefix  KEYS[3] signed-in set  KEYS[4] state set prefix
  KEYS[5] state counts hash  KEYS[6] skill set prefix  KEYS[7] skills registry set
  ARGV[1] the states other than offline (JSON array)

  Returns { agents, signed in }
]]
local ALL, PREFIX = KEYS[1], KEYS[2]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL, IX_SKILLS = KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local states = cjson.decode(ARGV[1])

-- @include "agent-index"

for _, s in ipairs(redis.call('SMEMBERS', IX_SKILLS)) do redis.call('DEL', IX_SKILL .. s) end
for _, st in ipairs(states) do redis.call('DEL', IX_STATE .. st) end
redis.call('DEL', IX_IN, IX_COUNTS, IX_SKILLS)
local agents, signedIn = 0, 0
for _, id in ipairs(redis.call('SMEMBERS', ALL)) do
  local h = redis.call('HMGET', PREFIX .. id, 'state', 'team', 'skills')
  if h[1] then
    agents = agents + 1
    for _, s in ipairs(skillsOf(h[3])) do redis.call('SADD', IX_SKILLS, s) end
    reindex({ id = id, team = h[2], skills = h[3] }, nil, h[1])
    if h[1] ~= 'offline' then signedIn = signedIn + 1 end
  end
end
return { agents, signedIn }
