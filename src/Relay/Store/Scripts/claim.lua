-- claim: lease up to N ready events of one target in one partition.
-- A lease is a deadline; if the worker dies, promote.lua returns the event to ready after it.
--
-- KEYS[1] ready list  (target, partition; entries "<id>|<ready at ms>")
-- KEYS[2] lease zset  (event id -> lease deadline ms)
-- ARGV[1] max events to claim
-- ARGV[2] lease deadline, unix ms
--
-- Returns the claimed event ids, oldest first (possibly none).
local ids = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then
    break
  end
  local id = ready_id(entry)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  ids[#ids + 1] = id
end
return ids
