--[[
  Create or update an agent from the configuration at start-up. An existing agent keeps its state, offer,
  call and counters (a restart loses nothing); a new agent starts offline. A changed team moves the agent's
  count to the new team; changed skills move a signed-in agent between the skill sets (the agent index).

  KEYS[1] agent hash  KEYS[2] all-agents set  KEYS[3] signed-in set  KEYS[4] state set prefix
  KEYS[5] state counts hash  KEYS[6] skill set prefix  KEYS[7] skills registry set
  (KEYS[3]..KEYS[7]: the agent index, include/agent-index.lua)
  ARGV[1] agentId  ARGV[2] team  ARGV[3] skills (comma list)  ARGV[4] contact  ARGV[5] now (ms)

  Returns 'created' | 'updated'
]]
local key, ALL = KEYS[1], KEYS[2]
local IX_IN, IX_STATE, IX_COUNTS, IX_SKILL, IX_SKILLS = KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, team, skills, contact, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

-- @include "agent-index"

redis.call('SADD', ALL, id)
for _, s in ipairs(skillsOf(skills)) do redis.call('SADD', IX_SKILLS, s) end
local h = redis.call('HMGET', key, 'state', 'team', 'skills')
if h[1] then
  local state = h[1]
  if (h[2] or '') ~= team then
    countAdd(state, h[2], -1)
    countAdd(state, team, 1)
  end
  if state ~= 'offline' and (h[3] or '') ~= skills then
    for _, s in ipairs(skillsOf(h[3])) do redis.call('SREM', IX_SKILL .. s, id) end
    for _, s in ipairs(skillsOf(skills)) do redis.call('SADD', IX_SKILL .. s, id) end
  end
  redis.call('HSET', key, 'id', id, 'team', team, 'skills', skills, 'contact', contact)
  return 'updated'
end
redis.call('HSET', key, 'id', id, 'team', team, 'skills', skills, 'contact', contact, 'state', 'offline',
  'stateSince', now, 'callsHandled', 0, 'callsToday', 0, 'lastOfferSeq', 0, 'connected', 0)
countAdd('offline', team, 1)
return 'created'
