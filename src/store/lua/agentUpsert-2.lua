--[[
  Create or update an agent from the configuration at start-up. An existing agent keeps its state, offer,
  call and counters (a restart loses nothing); a new agent starts offline.

  KEYS[1] agent hash  KEYS[2] all-agents set
  ARGV[1] agentId  ARGV[2] team  ARGV[3] skills (comma list)  ARGV[4] contact  ARGV[5] now (ms)

  Returns 'created' | 'updated'
]]
local key, ALL = KEYS[1], KEYS[2]
local id, team, skills, contact, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('SADD', ALL, id)
if redis.call('HEXISTS', key, 'state') == 1 then
  redis.call('HSET', key, 'id', id, 'team', team, 'skills', skills, 'contact', contact)
  return 'updated'
end
redis.call('HSET', key, 'id', id, 'team', team, 'skills', skills, 'contact', contact, 'state', 'offline',
  'stateSince', now, 'callsHandled', 0, 'callsToday', 0, 'lastOfferSeq', 0, 'connected', 0)
return 'created'
