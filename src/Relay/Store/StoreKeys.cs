using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Key names. Every key of a partition shares the hash tag <c>{prefix:pN}</c>, so each script touches one
/// Redis Cluster slot and the same scripts run on a single node, a cluster, or the embedded store.
/// </summary>
internal sealed class StoreKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public RedisKey Dedupe(int partition, string source, string dedupeKey) => $"{Tag(partition)}:dedup:{source}:{dedupeKey}";

    public RedisKey Event(int partition, string id) => $"{Tag(partition)}:evt:{id}";

    public RedisKey History(int partition, string id) => $"{Tag(partition)}:hist:{id}";

    public RedisKey Index(int partition) => $"{Tag(partition)}:events";

    public RedisKey Ready(int partition, string target) => $"{Tag(partition)}:ready:{target}";

    public RedisKey Lease(int partition, string target) => $"{Tag(partition)}:lease:{target}";

    public RedisKey Retry(int partition, string target) => $"{Tag(partition)}:retry:{target}";

    public RedisKey Dead(int partition, string target) => $"{Tag(partition)}:dead:{target}";

    /// <summary>Held for one sweep interval by whichever replica runs the scheduler sweep.</summary>
    public RedisKey SchedulerLock => $"{{{Prefix}}}:scheduler";

    /// <summary>Hash of paused targets (target id -> paused-at ms), shared by every replica and kept across restarts.</summary>
    public RedisKey Paused => $"{{{Prefix}}}:paused";

    /// <summary>Held by the one replica that runs a connector source's outbound stream; value = owner id.</summary>
    public RedisKey ConnectorLease(string source) => $"{{{Prefix}}}:connector:{source}";

    private string Tag(int partition) => $"{{{Prefix}:p{partition}}}";
}
