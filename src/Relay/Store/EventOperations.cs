using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// What operators change: replay an event, redrive or purge a target's dead letters, pause or resume a target. Each
/// completes once its writes are durable, and wakes the dispatchers of the targets it queued work for.
/// </summary>
internal sealed class EventOperations(StoreConnection connection, QueueSignals signals, TimeProvider time)
{
    /// <summary>Dead letters redriven per round trip.</summary>
    private const int RedriveChunk = 500;

    private StoreKeys Keys => connection.Keys;

    private int Partitions => connection.Config.Partitions;

    /// <summary>Queues the event again for each of <paramref name="targets"/>, whatever its state (replay).</summary>
    public async Task<IReadOnlyList<RequeueOutcome>> ReplayAsync(string id, IReadOnlyList<string> targets)
    {
        if (!EventIds.TryGetPartition(id, Partitions, out var p))
        {
            return [.. targets.Select(_ => RequeueOutcome.Expired)];
        }

        var outcomes = await Task.WhenAll(targets.Select(t => RequeueAsync(p, id, t, StoreWords.RequeueAny))).ConfigureAwait(false);
        await connection.WaitDurableAsync().ConfigureAwait(false);
        foreach (var target in targets)
        {
            signals.Wake(target);
        }

        return outcomes;
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
        await connection.WaitDurableAsync().ConfigureAwait(false);
        signals.Wake(target);
        return perPartition.Sum();
    }

    /// <summary>Drops every dead letter of a target; returns how many.</summary>
    public async Task<long> PurgeDeadAsync(string target)
    {
        var upTo = time.GetUtcNow().ToUnixTimeMilliseconds();
        var purged = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p =>
            connection.Database.ScriptEvaluateAsync(StoreScripts.Purge, [Keys.Dead(p, target)], [upTo]))).ConfigureAwait(false);
        await connection.WaitDurableAsync().ConfigureAwait(false);
        return purged.Sum(r => (long)r);
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

        await connection.WaitDurableAsync().ConfigureAwait(false);
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
