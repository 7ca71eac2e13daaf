-- promote: move due retries, and events whose lease expired (their worker crashed or hung), back to ready.
--
-- KEYS[1] retry zset  (target, partition)
-- KEYS[2] lease zset  (target, partition)
-- KEYS[3] ready list  (target, partition)
-- ARGV[1] now, unix ms: retries are due by the caller's clock (a skewed clock moves a retry a little, harmlessly)
-- ARGV[2] max events to move from each zset
--
-- Leases expire by the store's clock, the one that set them, so skew between replicas never reclaims a live lease.
-- Returns {retries promoted, leases reclaimed}.
local function move(from, now)
  local ids = redis.call('ZRANGEBYSCORE', from, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
  for _, id in ipairs(ids) do
    redis.call('ZREM', from, id)
    redis.call('RPUSH', KEYS[3], ready_entry(id, now))
  end
  return #ids
end

local promoted = move(KEYS[1], tonumber(ARGV[1]))
local reclaimed = move(KEYS[2], store_now())
return {promoted, reclaimed}
