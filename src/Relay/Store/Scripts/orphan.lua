-- orphan: settle one event a removed target still owes: move it to another target, or purge it.
-- The removed target's state becomes 'purged' (it owes nothing any more) with a reason saying what happened, and
-- the event leaves that target's state indexes; its routed index keeps it for history. When moved, the event
-- becomes the other target's: pending at the back of its ready list, or still a dead letter (or quarantined) if it
-- was one there, so an operator redrives it on purpose. An event the other target already has stays as it is there.
--
-- KEYS[1]      event hash
-- KEYS[2]      history list
-- KEYS[3..7]   the removed target's state indexes, in the order of lib.lua's STATES
-- KEYS[8]      the other target's ready list  (purge: unused)
-- KEYS[9]      the other target's dead zset   (purge: unused)
-- KEYS[10]     the other target's routed index (purge: unused)
-- KEYS[11..15] the other target's state indexes (purge: unused)
-- KEYS[16]     the removed target's key queue of the event's ordering key (unused without one)
-- ARGV[1] event id
-- ARGV[2] removed target id
-- ARGV[3] other target id; '' to purge
-- ARGV[4] now, unix ms
-- ARGV[5] retention, ms
-- ARGV[6] reason recorded on the removed target
-- ARGV[7] reason recorded on the other target's dead letter (move only)
-- ARGV[8] the event's ordering key; '' for none
--
-- Returns 1 moved or purged; 0 the removed target owed it nothing (or it expired).
local id = ARGV[1]
local from = ARGV[2]
local to = ARGV[3]
local now = tonumber(ARGV[4])
local receivedAt = redis.call('HGET', KEYS[1], 'receivedAt')
local state = redis.call('HGET', KEYS[1], from .. '.state')
if not receivedAt then
  index_state(3, nil, id, nil)
  return 0
end
if state ~= 'pending' and state ~= 'retrying' and state ~= 'dead' and state ~= 'quarantined' then
  return 0
end

redis.call('HSET', KEYS[1], from .. '.state', 'purged', from .. '.at', now,
  from .. '.reason', ARGV[6])
redis.call('HDEL', KEYS[1], from .. '.next')
index_state(3, nil, id, nil)
if ARGV[8] ~= '' then
  redis.call('LREM', KEYS[16], 0, id)
end

if to ~= '' and not redis.call('HGET', KEYS[1], to .. '.state') then
  local targets = redis.call('HGET', KEYS[1], 'targets')
  redis.call('HSET', KEYS[1], 'targets', (targets and targets ~= '') and (targets .. ',' .. to) or to, to .. '.attempts', 0)
  if state == 'dead' or state == 'quarantined' then
    redis.call('HSET', KEYS[1], to .. '.state', state, to .. '.at', now, to .. '.reason', ARGV[7])
    redis.call('ZADD', KEYS[9], now, id)
  else
    state = 'pending'
    redis.call('HSET', KEYS[1], to .. '.state', state)
    redis.call('RPUSH', KEYS[8], ready_entry(id, now))
  end
  redis.call('ZADD', KEYS[10], receivedAt, id)
  index_state(11, state, id, receivedAt)
end

keep_while_owed(KEYS[1], KEYS[2], tonumber(ARGV[5]))
return 1
