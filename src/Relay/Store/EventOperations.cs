using Relay.Configuration;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// What operators change: replay an event, redrive or purge a target's dead letters, pause or resume a target. Each
/// completes once its writes are durable, and wakes the dispatchers of the targets it queued work for.
/// </summary>
internal sealed class EventOperations(StoreConnection connection, EventStore store, RelayConfigProvider configProvider, QueueSignals signals, TimeProvider time)
{
    /// <summary>Dead letters redriven or purged per round trip.</summary>
    private const int RedriveChunk = 500;

    private StoreKeys Keys => connection.Keys;

    /// <summary>Every partition that may hold events (see <see cref="StoreLayout.Span"/>).</summary>
    private int Partitions => connection.Layout.Span;

    /// <summary>A key of every partition, for waiting on writes spread over all of them.</summary>
    private RedisKey[] EveryPartition => [.. Enumerable.Range(0, Partitions).Select(Keys.Index)];

    /// <summary>Queues the event again for each of <paramref name="targets"/>, whatever its state (replay).</summary>
    public async Task<IReadOnlyList<RequeueOutcome>> ReplayAsync(string id, IReadOnlyList<string> targets)
    {
        if (!EventIds.TryGetPartition(id, Partitions, out var p))
        {
            return [.. targets.Select(_ => RequeueOutcome.Expired)];
        }

        var outcomes = await Task.WhenAll(targets.Select(t => RequeueAsync(p, id, t, StoreWords.RequeueAny))).ConfigureAwait(false);
        await connection.WaitDurableAsync(Keys.Event(p, id)).ConfigureAwait(false);
        foreach (var target in targets)
        {
            signals.Wake(target);
        }

        return outcomes;
    }

    /// <summary>
    /// Replays every event routed to <paramref name="target"/> and received in [<paramref name="from"/>,
    /// <paramref name="to"/>), whatever its state, a page at a time; with <paramref name="dryRun"/> only counts them.
    /// Safe to repeat: an event still waiting from the first call is not queued twice.
    /// </summary>
    public async Task<RangeReplay> ReplayRangeAsync(string target, DateTimeOffset from, DateTimeOffset to, bool dryRun)
    {
        var (min, max) = (from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds() - 1);
        var counts = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p =>
            connection.Database.SortedSetLengthAsync(Keys.Routed(p, target), min, max))).ConfigureAwait(false);
        var matched = counts.Sum();
        if (dryRun || matched == 0)
        {
            return new RangeReplay(matched, 0);
        }

        var queued = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(async p =>
        {
            long queuedHere = 0;

            // Offsets are stable: requeueing changes an event's state, never the routed index it is read from.
            for (long skip = 0; ; skip += RedriveChunk)
            {
                var ids = await connection.Database.SortedSetRangeByScoreAsync(Keys.Routed(p, target), min, max, skip: skip, take: RedriveChunk).ConfigureAwait(false);
                var outcomes = await RequeueAllAsync(p, ids, target, StoreWords.RequeueAny).ConfigureAwait(false);
                queuedHere += outcomes.Count(o => o == RequeueOutcome.Queued);
                if (ids.Length < RedriveChunk)
                {
                    return queuedHere;
                }
            }
        })).ConfigureAwait(false);
        await connection.WaitDurableAsync(EveryPartition).ConfigureAwait(false);
        signals.Wake(target);
        return new RangeReplay(matched, queued.Sum());
    }

    /// <summary>Moves the named dead letters of a target back to ready, attempts reset; returns how many were queued.</summary>
    public async Task<long> RedriveAsync(string target, IReadOnlyCollection<string> ids)
    {
        var known = ids
            .Select(id => (Id: id, Known: EventIds.TryGetPartition(id, Partitions, out var p), Partition: p))
            .Where(e => e.Known)
            .ToList();
        var perPartition = await Task.WhenAll(known
            .GroupBy(e => e.Partition)
            .Select(g => RequeueAllAsync(g.Key, [.. g.Select(e => (RedisValue)e.Id).Order()], target, StoreWords.RequeueDeadOnly))).ConfigureAwait(false);
        await connection.WaitDurableAsync([.. known.Select(e => Keys.Event(e.Partition, e.Id))]).ConfigureAwait(false);
        signals.Wake(target);
        return perPartition.Sum(outcomes => outcomes.Count(o => o == RequeueOutcome.Queued));
    }

    /// <summary>Moves every dead letter of a target back to ready, attempts reset; returns how many were queued.</summary>
    /// <remarks>Only what was dead when the call started moves, so events that fail again at once are not redriven in a loop.</remarks>
    public async Task<long> RedriveAsync(string target)
    {
        var upTo = time.GetUtcNow().ToUnixTimeMilliseconds();
        var perPartition = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(async p =>
        {
            var dead = Keys.Dead(p, target);
            var total = await connection.Database.SortedSetLengthAsync(dead, double.NegativeInfinity, upTo).ConfigureAwait(false);
            long seen = 0, queued = 0;
            while (seen < total)
            {
                var ids = await connection.Database.SortedSetRangeByScoreAsync(dead, double.NegativeInfinity, upTo, take: RedriveChunk).ConfigureAwait(false);
                if (ids.Length == 0)
                {
                    break;
                }

                seen += ids.Length;
                var outcomes = await RequeueAllAsync(p, ids, target, StoreWords.RequeueDeadOnly).ConfigureAwait(false);
                queued += outcomes.Count(o => o == RequeueOutcome.Queued);
            }

            return queued;
        })).ConfigureAwait(false);
        await connection.WaitDurableAsync(EveryPartition).ConfigureAwait(false);
        signals.Wake(target);
        return perPartition.Sum();
    }

    /// <summary>Drops every dead letter of a target; returns how many.</summary>
    public async Task<long> PurgeDeadAsync(string target)
    {
        var purged = await DropDeadLettersAsync(target, time.GetUtcNow()).ConfigureAwait(false);
        await connection.WaitDurableAsync(EveryPartition).ConfigureAwait(false);
        return purged;
    }

    /// <summary>
    /// Drops the target's dead letters dead-lettered at or before <paramref name="upTo"/>, a chunk at a time, so that
    /// purging a large backlog never holds the store for long; the scheduler uses it to expire dead letters older
    /// than <c>store.deadLetterRetention</c>.
    /// </summary>
    public async Task<long> DropDeadLettersAsync(string target, DateTimeOffset upTo)
    {
        var until = upTo.ToUnixTimeMilliseconds();
        var retention = (long)connection.Config.Retention.TotalMilliseconds;
        var dropped = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(async p =>
        {
            long count = 0;
            RedisValue[] ids;
            do
            {
                ids = await connection.Database.SortedSetRangeByScoreAsync(Keys.Dead(p, target), double.NegativeInfinity, until, take: RedriveChunk).ConfigureAwait(false);
                var results = await Task.WhenAll(ids.Select(async id =>
                {
                    var orderingKey = await OrderingKeyAsync(p, id!).ConfigureAwait(false);
                    return await connection.Database.ScriptEvaluateAsync(
                        StoreScripts.Purge,
                        [Keys.Dead(p, target), Keys.Event(p, id!), Keys.History(p, id!), .. Keys.StateIndexes(p, target), .. store.KeyQueueKeys(p, target, orderingKey)],
                        [id, target, until, retention, orderingKey ?? "", time.GetUtcNow().ToUnixTimeMilliseconds()]).ConfigureAwait(false);
                })).ConfigureAwait(false);
                count += results.Count(r => (int)r == 1);
            }
            while (ids.Length == RedriveChunk);
            return count;
        })).ConfigureAwait(false);
        return dropped.Sum();
    }

    /// <summary>
    /// Sets or clears a target's pause flag, kept in the store so it holds for every replica and across restarts.
    /// A resume wakes the target's dispatcher, which finds its queue claimable again.
    /// </summary>
    public async Task SetPausedAsync(string target, bool paused)
    {
        if (paused)
        {
            await connection.Database.HashSetAsync(Keys.Paused, target, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        }
        else
        {
            await connection.Database.HashDeleteAsync(Keys.Paused, target).ConfigureAwait(false);
        }

        await connection.WaitDurableAsync(Keys.Paused).ConfigureAwait(false);
        if (!paused)
        {
            signals.Wake(target);
        }
    }

    /// <summary>
    /// Requeues <paramref name="ids"/> of one partition for a target. For a target ordered by key, one at a time in the
    /// order given (accept order, or dead-letter order, which for one key is the same), since each goes to the back of
    /// its key queue; for others, all at once.
    /// </summary>
    private async Task<IReadOnlyList<RequeueOutcome>> RequeueAllAsync(int p, RedisValue[] ids, string target, string scope)
    {
        if (!IsOrdered(target))
        {
            return await Task.WhenAll(ids.Select(id => RequeueAsync(p, id!, target, scope))).ConfigureAwait(false);
        }

        var outcomes = new List<RequeueOutcome>(ids.Length);
        foreach (var id in ids)
        {
            outcomes.Add(await RequeueAsync(p, id!, target, scope).ConfigureAwait(false));
        }

        return outcomes;
    }

    private async Task<RequeueOutcome> RequeueAsync(int p, string id, string target, string scope)
    {
        var orderingKey = IsOrdered(target) ? await OrderingKeyAsync(p, id).ConfigureAwait(false) : null;
        var outcome = await connection.Database.ScriptEvaluateAsync(
            StoreScripts.Requeue,
            [
                Keys.Event(p, id), Keys.Ready(p, target), Keys.Lease(p, target), Keys.Retry(p, target), Keys.Dead(p, target), .. Keys.StateIndexes(p, target), Keys.History(p, id),
                .. store.KeyQueueKeys(p, target, orderingKey)[0..1], Keys.Blocked(p, target),
            ],
            [id, target, scope, time.GetUtcNow().ToUnixTimeMilliseconds(), (long)connection.Config.Retention.TotalMilliseconds, orderingKey ?? ""]).ConfigureAwait(false);
        return (RequeueOutcome)(int)outcome;
    }

    private bool IsOrdered(string target) => configProvider.Current.Config.Targets.TryGetValue(target, out var config) && config.OrderedByKey;

    /// <summary>The event's ordering key, which names its key queue; null when the event has expired (or predates it).</summary>
    private async Task<string?> OrderingKeyAsync(int p, string id) =>
        await connection.Database.HashGetAsync(Keys.Event(p, id), StoreWords.OrderingField).ConfigureAwait(false) is { IsNullOrEmpty: false } key ? (string?)key : null;
}
