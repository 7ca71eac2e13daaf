-- gate: record a delivery gate's verdict on an event, once; the first verdict recorded stays.
-- Several targets (and replicas) may check the same event at once: all of them settle on the verdict in force.
--
-- KEYS[1] event hash
-- ARGV[1] verdict ("pass", or "quarantined: <reason>")
--
-- Returns the verdict in force; nil when the event no longer exists (retention expired it), so nothing is written
-- and no hash without a TTL is left behind.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
redis.call('HSETNX', KEYS[1], 'gate', ARGV[1])
return redis.call('HGET', KEYS[1], 'gate')
