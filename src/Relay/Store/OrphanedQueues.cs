using StackExchange.Redis;

namespace Relay.Store;

/// <summary>What a removed target still holds: its queue depths, as for a configured target.</summary>
internal sealed record OrphanedQueue(string Target, TargetCounts Counts)
{
    public long Owed => Counts.Ready + Counts.InFlight + Counts.Retrying + Counts.Dead;
}

/// <summary>
/// Queues left behind when a target is removed from the configuration or renamed: events it still owes (waiting,
/// retrying, dead-lettered) that no replica delivers any more. Without this they would wait unseen for ever, since an
/// owed event never expires. A target counts as orphaned while it is known to the store (some replica once delivered
/// to it), holds owed events, and neither this replica's configuration nor any live replica's names it; so during a
/// rolling update, a target that the old replicas still deliver to is not taken from them.
/// </summary>
internal sealed class OrphanedQueues(StoreConnection connection, EventStore store, ClusterReports reports, QueueSignals signals, TimeProvider time)
{
    /// <summary>Event ids settled per round trip.</summary>
    private const int Chunk = 500;

    /// <summary>The owed states, whose indexes list what an orphaned target still holds.</summary>
    private static readonly string[] OwedStates = [StoreWords.Pending, StoreWords.Retrying, StoreWords.Dead, StoreWords.Quarantined];

    private StoreKeys Keys => connection.Keys;

    public async Task<IReadOnlyList<OrphanedQueue>> FindAsync(IReadOnlyCollection<string> configured)
    {
        var delivering = await DeliveringAsync(configured).ConfigureAwait(false);
        var candidates = (await reports.KnownTargetsAsync().ConfigureAwait(false)).Where(t => !delivering.Contains(t)).Order(StringComparer.Ordinal).ToArray();
        var counts = await Task.WhenAll(candidates.Select(store.CountAsync)).ConfigureAwait(false);
        return [.. candidates.Select((t, i) => new OrphanedQueue(t, counts[i])).Where(o => o.Owed > 0)];
    }

    /// <summary>
    /// Whether <paramref name="target"/> is delivered to by this replica or another live one, in which case its queues
    /// are not orphaned and must not be moved or purged.
    /// </summary>
    public async Task<bool> IsDeliveredAsync(string target, IReadOnlyCollection<string> configured) =>
        (await DeliveringAsync(configured).ConfigureAwait(false)).Contains(target);

    /// <summary>
    /// Gives every event <paramref name="orphan"/> still owes to <paramref name="to"/> (queued there, or kept as a dead
    /// letter if it was one), or purges them when <paramref name="to"/> is null; then deletes the orphan's queues.
    /// Returns how many events were moved or purged.
    /// </summary>
    public async Task<long> SettleAsync(string orphan, string? to)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var retention = (long)connection.Config.Retention.TotalMilliseconds;
        var (fromReason, toReason) = to is null ? ("purged with its removed target", "") : ($"moved to {to}", $"moved from {orphan}");
        var settled = await Task.WhenAll(Enumerable.Range(0, connection.Layout.Span).Select(async p =>
        {
            // A purge passes placeholder keys of the same partition (so of the same cluster slot); the script never touches them.
            var newKeys = to is null
                ? Enumerable.Repeat(Keys.Event(p, "unused"), 8).ToArray()
                : [Keys.Ready(p, to), Keys.Dead(p, to), Keys.Routed(p, to), .. Keys.StateIndexes(p, to)];
            long count = 0;
            foreach (var state in OwedStates)
            {
                RedisValue[] ids;
                do
                {
                    // Each settled event leaves the index, so the next chunk is again at its head.
                    ids = await connection.Database.SortedSetRangeByRankAsync(Keys.StateIndex(p, orphan, state), 0, Chunk - 1).ConfigureAwait(false);
                    var results = await Task.WhenAll(ids.Select(async id =>
                    {
                        var orderingKey = (string?)await connection.Database.HashGetAsync(Keys.Event(p, id!), StoreWords.OrderingField).ConfigureAwait(false);
                        return await connection.Database.ScriptEvaluateAsync(
                            StoreScripts.Orphan,
                            [Keys.Event(p, id!), Keys.History(p, id!), .. Keys.StateIndexes(p, orphan), .. newKeys, store.KeyQueueKeys(p, orphan, orderingKey)[0]],
                            [id, orphan, to ?? "", now, retention, fromReason, toReason, orderingKey ?? ""]).ConfigureAwait(false);
                    })).ConfigureAwait(false);
                    count += results.Count(r => (int)r == 1);
                }
                while (ids.Length == Chunk);
            }

            await connection.Database.KeyDeleteAsync([Keys.Ready(p, orphan), Keys.Lease(p, orphan), Keys.Retry(p, orphan), Keys.Dead(p, orphan), Keys.Blocked(p, orphan)]).ConfigureAwait(false);
            return count;
        })).ConfigureAwait(false);

        await connection.WaitDurableAsync([.. Enumerable.Range(0, connection.Layout.Span).Select(Keys.Index)]).ConfigureAwait(false);
        if (to is not null)
        {
            signals.Wake(to);
        }

        return settled.Sum();
    }

    private async Task<HashSet<string>> DeliveringAsync(IReadOnlyCollection<string> configured)
    {
        var live = await reports.CircuitsAsync().ConfigureAwait(false);
        return [.. configured, .. live.Select(c => c.Target)];
    }
}
