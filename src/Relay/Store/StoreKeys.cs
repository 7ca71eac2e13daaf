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

    /// <summary>A KEYS/SCAN pattern matching every dedupe key of a partition (for the offline partition migration).</summary>
    public string DedupePattern(int partition) => $"{Tag(partition)}:dedup:*";

    public RedisKey Event(int partition, string id) => $"{Tag(partition)}:evt:{id}";

    public RedisKey History(int partition, string id) => $"{Tag(partition)}:hist:{id}";

    /// <summary>Every event of the partition (zset: id -> received-at ms), newest-first listing.</summary>
    public RedisKey Index(int partition) => $"{Tag(partition)}:events";

    /// <summary>The partition's events of one source (zset: id -> received-at ms).</summary>
    public RedisKey SourceIndex(int partition, string source) => $"{Tag(partition)}:ix:source:{source}";

    /// <summary>The partition's events of one type (zset: id -> received-at ms).</summary>
    public RedisKey TypeIndex(int partition, string type) => $"{Tag(partition)}:ix:type:{type}";

    /// <summary>The event types seen in the partition (zset: type -> last received-at ms), which a type glob is matched against.</summary>
    public RedisKey Types(int partition) => $"{Tag(partition)}:ix:types";

    /// <summary>Every event routed to a target (zset: id -> received-at ms), whatever its state: replay by time range.</summary>
    public RedisKey Routed(int partition, string target) => $"{Tag(partition)}:ix:routed:{target}";

    /// <summary>A target's events in one state (zset: id -> received-at ms); see <see cref="StoreWords.States"/>.</summary>
    public RedisKey StateIndex(int partition, string target, string state) => $"{Tag(partition)}:ix:state:{target}:{state}";

    /// <summary>A target's five state indexes, in the order of <see cref="StoreWords.States"/> (and of lib.lua's STATES).</summary>
    public RedisKey[] StateIndexes(int partition, string target) => [.. StoreWords.States.Select(state => StateIndex(partition, target, state))];

    /// <summary>A target's ready queue; entries are "id|ready-at ms", so the oldest entry tells the queue's lag.</summary>
    public RedisKey Ready(int partition, string target) => $"{Tag(partition)}:ready:{target}";

    public RedisKey Lease(int partition, string target) => $"{Tag(partition)}:lease:{target}";

    public RedisKey Retry(int partition, string target) => $"{Tag(partition)}:retry:{target}";

    public RedisKey Dead(int partition, string target) => $"{Tag(partition)}:dead:{target}";

    /// <summary>
    /// An ordered target's queue of one ordering key: the key's events not yet settled, in accept order; only the head
    /// is ever ready, in flight or retrying (lib.lua's key_append, key_release). The key's events share the partition.
    /// </summary>
    public RedisKey KeyQueue(int partition, string target, string orderingKey) => $"{Tag(partition)}:okq:{target}:{orderingKey}";

    /// <summary>An ordered target's keys held behind a dead letter (zset: ordering key -> blocked at ms), onDeadLetter: block.</summary>
    public RedisKey Blocked(int partition, string target) => $"{Tag(partition)}:blocked:{target}";

    /// <summary>Held for one sweep interval by whichever replica runs the scheduler sweep.</summary>
    public RedisKey SchedulerLock => $"{{{Prefix}}}:scheduler";

    /// <summary>Hash of paused targets (target id -> paused-at ms), shared by every replica and kept across restarts.</summary>
    public RedisKey Paused => $"{{{Prefix}}}:paused";

    /// <summary>Held by the one replica that runs a connector source's outbound stream; value = owner id.</summary>
    public RedisKey ConnectorLease(string source) => $"{{{Prefix}}}:connector:{source}";

    /// <summary>
    /// A key in the same Redis Cluster slot as <paramref name="written"/> (its hash tag): written just before replicas are
    /// asked to confirm the writes to that slot (<see cref="ReplicaGroupWait"/>).
    /// </summary>
    public static string DurabilityMarker(RedisKey written)
    {
        var key = (string)written!;
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var close = open < 0 ? -1 : key.IndexOf('}', open + 1);
        return close > open + 1 ? key[..(close + 1)] + ":durable" : "{" + key + "}:durable";
    }

    private string Tag(int partition) => $"{{{Prefix}:p{partition}}}";
}
