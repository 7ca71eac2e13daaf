using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// What operators change: replay an event, redrive or purge a target's dead letters, pause or resume a target. Each
/// completes once its writes are durable, and wakes the dispatchers of the targets it queued work for.
/// </summary>
internal sealed class EventOperations(StoreConnection connection, QueueSignals signals, TimeProvider time)
{
    /// <summary>Dead letters redriven or purged per round trip.</summary>
    private const int RedriveChunk = 500;

    private StoreKeys Keys => connection.Keys;

    private int Partitions => connection.Config.Partitions;

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
                var outcomes = await Task.WhenAll(ids.Select(id => RequeueAsync(p, id!, target, StoreWords.RequeueAny))).ConfigureAwait(false);
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
        var outcomes = await Task.WhenAll(known.Select(e => RequeueAsync(e.Partition, e.Id, target, StoreWords.RequeueDeadOnly))).ConfigureAwait(false);
        await connection.WaitDurableAsync([.. known.Select(e => Keys.Event(e.Partition, e.Id))]).ConfigureAwait(false);
        signals.Wake(target);
        return outcomes.Count(o => o == RequeueOutcome.Queued);
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
                var outcomes = await Task.WhenAll(ids.Select(id => RequeueAsync(p, id!, target, StoreWords.RequeueDeadOnly))).ConfigureAwait(false);
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
        var upTo = time.GetUtcNow().ToUnixTimeMilliseconds();
        var purged = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(async p =>
        {
            long dropped = 0, chunk;
            do
            {
                // In chunks, so that purging a large backlog never holds the store for long in one script.
                chunk = (long)await connection.Database.ScriptEvaluateAsync(
                    StoreScripts.Purge, [Keys.Dead(p, target), .. Keys.StateIndexes(p, target)], [upTo, RedriveChunk]).ConfigureAwait(false);
                dropped += chunk;
            }
            while (chunk == RedriveChunk);
            return dropped;
        })).ConfigureAwait(false);
        await connection.WaitDurableAsync(EveryPartition).ConfigureAwait(false);
        return purged.Sum();
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

    private async Task<RequeueOutcome> RequeueAsync(int p, string id, string target, string scope)
    {
        var outcome = await connection.Database.ScriptEvaluateAsync(
            StoreScripts.Requeue,
            [Keys.Event(p, id), Keys.Ready(p, target), Keys.Lease(p, target), Keys.Retry(p, target), Keys.Dead(p, target), .. Keys.StateIndexes(p, target)],
            [id, target, scope, time.GetUtcNow().ToUnixTimeMilliseconds()]).ConfigureAwait(false);
        return (RequeueOutcome)(int)outcome;
    }
}
