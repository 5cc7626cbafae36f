-- The agent index (keys.ts AgentKeys, "the agent index"), kept in the script that changes the agent:
--   IX_IN     SET signed-in agents            IX_STATE .. state  SET agents in that state (not offline)
--   IX_COUNTS HASH 'state|team' → agents      IX_SKILL .. skill  SET signed-in agents having the skill
-- The including script sets IX_IN, IX_STATE, IX_COUNTS and IX_SKILL from its KEYS.
local function skillsOf(s)
  local t = {}
  for x in string.gmatch(s or '', '[^,]+') do t[#t + 1] = x end
  return t
end

local function countAdd(state, team, d)
  local f = state .. '|' .. (team or '')
  if redis.call('HINCRBY', IX_COUNTS, f, d) <= 0 then redis.call('HDEL', IX_COUNTS, f) end
end

-- Agent `a` (id, team, skills as in its hash) goes from state `from` to state `to`.
local function reindex(a, from, to)
  if from == to then return end
  if from then countAdd(from, a.team, -1) end
  countAdd(to, a.team, 1)
  if from and from ~= 'offline' then redis.call('SREM', IX_STATE .. from, a.id) end
  if to ~= 'offline' then redis.call('SADD', IX_STATE .. to, a.id) end
  local wasIn, isIn = from ~= nil and from ~= 'offline', to ~= 'offline'
  if wasIn == isIn then return end
  local op = isIn and 'SADD' or 'SREM'
  redis.call(op, IX_IN, a.id)
  for _, s in ipairs(skillsOf(a.skills)) do redis.call(op, IX_SKILL .. s, a.id) end
end
