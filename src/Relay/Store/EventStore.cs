using System.Text.Json;
using Relay.Verification;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// The pipeline's state changes of an event, each one Lua script over RESP, so Redis and the embedded store behave
/// alike: accept, claim, settle (complete or fail), promote, and a deferred check's verdict. The store owns enqueueing:
/// it wakes a target's dispatcher whenever it queues work for it, and an accept completes only once durable.
/// Store failures surface as exceptions matched by <see cref="StoreFailures.IsStoreFailure"/>; callers map them
/// (ingress to 503, dispatch to a pause).
/// </summary>
internal sealed class EventStore(StoreConnection connection, QueueSignals signals, TimeProvider time)
{
    /// <summary>How many attempt records an event keeps (per event, all targets together).</summary>
    public const int HistoryCap = 100;

    private static readonly RedisValue[] ClaimFields = ["body", "method", "query", "contentType", "headers", "source", "type", "trace", StoreWords.OrderingField];

    private CompletionBatches? _completions;

    private StoreKeys Keys => connection.Keys;

    private CompletionBatches Completions => LazyInitializer.EnsureInitialized(ref _completions, () => new CompletionBatches(WriteCompletionsAsync));

    private long RetentionMs => (long)connection.Config.Retention.TotalMilliseconds;

    /// <summary>How many partitions new events are spread over.</summary>
    public int Partitions => connection.Layout.Partitions;

    /// <summary>How many partitions may hold events: every reader covers them all (more than <see cref="Partitions"/> after a migration down).</summary>
    public int Span => connection.Layout.Span;

    /// <summary>
    /// Stores each event (one atomic script each: dedupe, persist, index, enqueue to its targets), in order, wakes the
    /// targets that got work, and completes once every write is durable: what an ack promises.
    /// </summary>
    public async Task<IReadOnlyList<AcceptResult>> AcceptAsync(IReadOnlyList<NewEvent> events)
    {
        if (connection.LayoutProblem is { } problem)
        {
            throw new StoreLayoutException(problem);
        }

        if (connection.FullProblem is { } full)
        {
            throw new StoreFullException(full);
        }

        var results = new AcceptResult[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            results[i] = await AcceptOneAsync(events[i]).ConfigureAwait(false);
            if (results[i].Outcome == AcceptOutcome.Accepted)
            {
                foreach (var target in events[i].Targets)
                {
                    signals.Wake(target);
                }
            }
        }

        await connection.WaitDurableAsync([.. events.Select(e => Keys.Index(e.Event.Partition))]).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Leases up to <paramref name="max"/> ready events of a target in one partition, with their bodies, for
    /// <paramref name="lease"/> on the store's clock.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedEvent>> ClaimAsync(string target, int partition, int max, TimeSpan lease)
    {
        var result = (RedisValue[])(await connection.Database.ScriptEvaluateAsync(
            StoreScripts.Claim,
            [Keys.Ready(partition, target), Keys.Lease(partition, target)],
            [max, (long)lease.TotalMilliseconds]).ConfigureAwait(false))!;
        if (result.Length <= 1)
        {
            return [];
        }

        var deadline = (long)result[0];
        var ids = result[1..];

        // The event hash never changes after accept (only per-target state fields do), so a plain read is safe here.
        var fields = ClaimFields.Append(StoreWords.Attempts(target)).ToArray();
        var attempts = fields.Length - 1;
        var batch = connection.Database.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(Keys.Event(partition, id!), fields)).ToArray();
        batch.Execute();
        var claimed = new List<ClaimedEvent>(ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            var values = await reads[i].ConfigureAwait(false);
            if (values[0].IsNull)
            {
                // Retention expired the event while it waited: settle the lease so it is not reclaimed forever.
                await DeadLetterAsync(target, new ClaimedEvent(ids[i]!, partition, new DeliveryLease(deadline), "", "", "", "", null, [], [], 0), "expired before delivery", null).ConfigureAwait(false);
                continue;
            }

            claimed.Add(new ClaimedEvent(
                Id: ids[i]!,
                Partition: partition,
                Lease: new DeliveryLease(deadline),
                Source: values[5]!,
                Type: values[6]!,
                Method: values[1]!,
                QueryString: values[2]!,
                ContentType: values[3].IsNullOrEmpty ? null : (string?)values[3],
                Headers: JsonSerializer.Deserialize((string)values[4]!, StoreJson.Default.IReadOnlyListKeyValuePairStringString) ?? [],
                Body: values[0]!,
                Attempts: values[attempts].IsNull ? 0 : (int)values[attempts],
                TraceParent: values[7].IsNullOrEmpty ? null : (string?)values[7],
                OrderingKey: values[8].IsNullOrEmpty ? null : (string?)values[8]));
        }

        return claimed;
    }

    /// <summary>
    /// Records a successful delivery; false when the lease was lost meanwhile (nothing is written then). Completions of
    /// one target and partition that arrive together are written in one script call (<see cref="CompletionBatches"/>).
    /// </summary>
    public async Task<bool> CompleteAsync(string target, ClaimedEvent claimed, AttemptRecord record) =>
        Settled(target, await Completions.CompleteAsync(target, claimed.Partition, new Completion(claimed, Serialize(record))).ConfigureAwait(false));

    /// <summary>
    /// Pushes the claim's lease deadline <paramref name="lease"/> past now (store clock) while its delivery runs;
    /// false when the lease was lost, and the delivery must stop.
    /// </summary>
    public async Task<bool> ExtendLeaseAsync(string target, ClaimedEvent claimed, TimeSpan lease)
    {
        var deadline = (long)await connection.Database.ScriptEvaluateAsync(
            StoreScripts.Extend,
            [Keys.Lease(claimed.Partition, target)],
            [claimed.Id, claimed.Lease.Deadline, (long)lease.TotalMilliseconds]).ConfigureAwait(false);
        if (deadline == 0)
        {
            return false;
        }

        claimed.Lease.Deadline = deadline;
        return true;
    }

    /// <summary>Schedules the event's next try for this target at <paramref name="retryAt"/>.</summary>
    /// <param name="countAttempt">False when the event is only handed back untried (circuit open, shutting down).</param>
    public Task<bool> RetryAsync(string target, ClaimedEvent claimed, DateTimeOffset retryAt, string reason, AttemptRecord? record, bool countAttempt = true) =>
        SettleFailureAsync(target, claimed, StoreWords.Retrying, retryAt, reason, record, countAttempt, blockKey: false);

    /// <summary>Moves the event to the target's dead letters; <paramref name="quarantined"/> when its deferred check rejected it.</summary>
    /// <param name="blockKey">
    /// For a target ordered by key with <c>onDeadLetter: block</c>: the dead letter holds its ordering key until it is
    /// redriven or purged. Otherwise the key's next event is released.
    /// </param>
    public Task<bool> DeadLetterAsync(string target, ClaimedEvent claimed, string reason, AttemptRecord? record, bool quarantined = false, bool blockKey = false) =>
        SettleFailureAsync(target, claimed, quarantined ? StoreWords.Quarantined : StoreWords.Dead, null, reason, record, countAttempt: record is not null, blockKey);

    /// <summary>Moves due retries and expired leases of a target in one partition back to ready, and wakes its dispatcher if any moved.</summary>
    public async Task<(long Promoted, long Reclaimed)> PromoteAsync(string target, int partition, int max)
    {
        var moved = (RedisResult[])(await connection.Database.ScriptEvaluateAsync(
            StoreScripts.Promote,
            [Keys.Retry(partition, target), Keys.Lease(partition, target), Keys.Ready(partition, target)],
            [time.GetUtcNow().ToUnixTimeMilliseconds(), max]).ConfigureAwait(false))!;
        var (promoted, reclaimed) = ((long)moved[0], (long)moved[1]);
        if (promoted + reclaimed > 0)
        {
            signals.Wake(target);
        }

        return (promoted, reclaimed);
    }

    /// <summary>How many events of a target wait in each state, summed over partitions (one batch of reads).</summary>
    public async Task<TargetCounts> CountAsync(string target)
    {
        var batch = connection.Database.CreateBatch();
        var reads = Enumerable.Range(0, Span).Select(p => (
            Ready: batch.ListLengthAsync(Keys.Ready(p, target)),
            InFlight: batch.SortedSetLengthAsync(Keys.Lease(p, target)),
            Retrying: batch.SortedSetLengthAsync(Keys.Retry(p, target)),
            Dead: batch.SortedSetLengthAsync(Keys.Dead(p, target)))).ToArray();
        batch.Execute();
        long ready = 0, inFlight = 0, retrying = 0, dead = 0;
        foreach (var read in reads)
        {
            ready += await read.Ready.ConfigureAwait(false);
            inFlight += await read.InFlight.ConfigureAwait(false);
            retrying += await read.Retrying.ConfigureAwait(false);
            dead += await read.Dead.ConfigureAwait(false);
        }

        return new TargetCounts(ready, inFlight, retrying, dead);
    }

    /// <summary>Whether an operator paused the target (a flag kept in the store for every replica).</summary>
    public Task<bool> IsPausedAsync(string target) => connection.Database.HashExistsAsync(Keys.Paused, target);

    /// <summary>Takes the scheduler turn for one interval, so that only one replica sweeps at a time.</summary>
    public Task<bool> TryTakeSchedulerTurnAsync(string owner, TimeSpan interval) =>
        connection.Database.StringSetAsync(Keys.SchedulerLock, owner, interval, When.NotExists);

    /// <summary>The deferred check's verdict kept with an event; null when none is recorded yet (or the event expired).</summary>
    public async Task<DeferredVerdict?> CheckVerdictAsync(int partition, string id)
    {
        var values = await connection.Database.HashGetAsync(Keys.Event(partition, id), [StoreWords.CheckField, StoreWords.CheckReasonField]).ConfigureAwait(false);
        return ParseVerdict(values[0], values[1]);
    }

    /// <summary>
    /// Keeps a final verdict with the event unless one is kept already (the first recorded wins, across targets and
    /// replicas); returns the verdict in force, or null when retention expired the event meanwhile.
    /// </summary>
    public async Task<DeferredVerdict?> RecordCheckVerdictAsync(int partition, string id, DeferredVerdict verdict)
    {
        if (!verdict.IsFinal)
        {
            throw new ArgumentException("Only a final verdict (pass or reject) is kept with an event.", nameof(verdict));
        }

        var word = verdict.Outcome == DeferredOutcome.Pass ? StoreWords.CheckPassed : StoreWords.Quarantined;
        var inForce = await connection.Database.ScriptEvaluateAsync(StoreScripts.Check, [Keys.Event(partition, id)], [word, verdict.Reason ?? ""]).ConfigureAwait(false);
        if (inForce.IsNull)
        {
            return null;
        }

        var fields = (RedisValue[])inForce!;
        return ParseVerdict(fields[0], fields[1]);
    }

    private static DeferredVerdict? ParseVerdict(RedisValue word, RedisValue reason) => (string?)word switch
    {
        StoreWords.CheckPassed => DeferredVerdict.Pass,
        StoreWords.Quarantined => DeferredVerdict.Reject(reason.IsNullOrEmpty ? "" : reason!),
        _ => null,
    };

    /// <summary>
    /// How long the oldest event waiting in the target's ready queues has waited since it became ready (accept, due
    /// retry, replay); zero when none waits. Each ready entry carries the time it was queued, so this reads one entry per
    /// partition.
    /// </summary>
    public async Task<TimeSpan> LagAsync(string target)
    {
        var batch = connection.Database.CreateBatch();
        var heads = Enumerable.Range(0, Span).Select(p => batch.ListGetByIndexAsync(Keys.Ready(p, target), 0)).ToArray();
        batch.Execute();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var oldest = now;
        foreach (var head in heads)
        {
            if (ReadyEntry.ReadyAt(await head.ConfigureAwait(false)) is { } readyAt && readyAt < oldest)
            {
                oldest = readyAt;
            }
        }

        return TimeSpan.FromMilliseconds(now - oldest);
    }

    /// <summary>True when the event was settled; wakes the target when the settle made its ordering key's next event ready.</summary>
    private bool Settled(string target, SettleOutcome outcome)
    {
        if (outcome == SettleOutcome.SettledNextKeyReady)
        {
            signals.Wake(target);
        }

        return outcome != SettleOutcome.LeaseLost;
    }

    private static string Serialize(AttemptRecord record) => JsonSerializer.Serialize(record, StoreJson.Default.AttemptRecord);

    private async Task<bool> SettleFailureAsync(
        string target, ClaimedEvent claimed, string state, DateTimeOffset? retryAt, string reason, AttemptRecord? record, bool countAttempt, bool blockKey)
    {
        var p = claimed.Partition;
        var done = await connection.Database.ScriptEvaluateAsync(
            StoreScripts.Fail,
            [
                Keys.Lease(p, target), Keys.Retry(p, target), Keys.Dead(p, target), Keys.Event(p, claimed.Id), Keys.History(p, claimed.Id),
                .. Keys.StateIndexes(p, target), .. KeyQueueKeys(p, target, claimed.OrderingKey),
            ],
            [
                claimed.Id, target, time.GetUtcNow().ToUnixTimeMilliseconds(), state, retryAt?.ToUnixTimeMilliseconds() ?? 0, reason,
                record is null ? "" : Serialize(record), RetentionMs, HistoryCap, countAttempt ? 1 : 0, claimed.Lease.Deadline,
                claimed.OrderingKey ?? "", blockKey ? StoreWords.BlockKey : "",
            ]).ConfigureAwait(false);
        return Settled(target, (SettleOutcome)(int)done);
    }

    /// <summary>One call of complete.lua for a batch of successful deliveries to one target in one partition.</summary>
    private async Task<IReadOnlyList<SettleOutcome>> WriteCompletionsAsync(string target, int p, IReadOnlyList<Completion> batch)
    {
        var keys = new List<RedisKey>(8 + (batch.Count * 3)) { Keys.Lease(p, target) };
        keys.AddRange(Keys.StateIndexes(p, target));
        keys.Add(Keys.Ready(p, target));
        keys.Add(Keys.Blocked(p, target));
        var args = new List<RedisValue>(4 + (batch.Count * 4)) { target, time.GetUtcNow().ToUnixTimeMilliseconds(), RetentionMs, HistoryCap };
        foreach (var (claimed, record) in batch)
        {
            keys.Add(Keys.Event(p, claimed.Id));
            keys.Add(Keys.History(p, claimed.Id));
            keys.Add(KeyQueueKeys(p, target, claimed.OrderingKey)[0]);
            args.AddRange([claimed.Id, record, claimed.Lease.Deadline, claimed.OrderingKey ?? ""]);
        }

        var outcomes = (RedisValue[])(await connection.Database.ScriptEvaluateAsync(StoreScripts.Complete, [.. keys], [.. args]).ConfigureAwait(false))!;
        return [.. outcomes.Select(o => (SettleOutcome)(int)o)];
    }

    /// <summary>
    /// The keys a settle passes for ordered delivery: the key queue of the event's ordering key, the target's ready
    /// list (where the key's next event goes) and its blocked keys. Passed for every target, ordered now or not, so
    /// that a key queue left from when it was ordered still drains.
    /// </summary>
    internal RedisKey[] KeyQueueKeys(int p, string target, string? orderingKey) =>
        [orderingKey is null ? Keys.Ready(p, target) : Keys.KeyQueue(p, target, orderingKey), Keys.Ready(p, target), Keys.Blocked(p, target)];

    private async Task<AcceptResult> AcceptOneAsync(NewEvent incoming)
    {
        var (stored, dedupeWindow, targets, orderedTargets) = incoming;
        var p = stored.Partition;
        var keys = new List<RedisKey>(6 + (targets.Count * 4))
        {
            Keys.Dedupe(p, stored.Source, stored.DedupeKey),
            Keys.Event(p, stored.Id),
            Keys.Index(p),
            Keys.SourceIndex(p, stored.Source),
            Keys.TypeIndex(p, stored.Type),
            Keys.Types(p),
        };
        foreach (var target in targets)
        {
            keys.Add(Keys.Ready(p, target));
            keys.Add(Keys.Routed(p, target));
            keys.Add(Keys.StateIndex(p, target, StoreWords.Pending));
            keys.Add(stored.OrderingKey is { } key ? Keys.KeyQueue(p, target, key) : Keys.Ready(p, target));
        }

        var ordered = string.Concat(targets.Select(t => stored.OrderingKey is not null && orderedTargets?.Contains(t) == true ? '1' : '0'));

        var args = new List<RedisValue>(6 + 26 + (targets.Count * 2))
        {
            stored.Id,
            (long)dedupeWindow.TotalMilliseconds,
            RetentionMs,
            stored.ReceivedAt.ToUnixTimeMilliseconds(),
            stored.Type,
            ordered,
            "source", stored.Source,
            "type", stored.Type,
            "tags", JsonSerializer.Serialize(stored.Tags, StoreJson.Default.IReadOnlyListString),
            "dedupeKey", stored.DedupeKey,
            StoreWords.ReceivedAtField, stored.ReceivedAt.ToUnixTimeMilliseconds(),
            "method", stored.Method,
            "query", stored.QueryString,
            "contentType", stored.ContentType ?? "",
            "headers", JsonSerializer.Serialize(stored.Headers, StoreJson.Default.IReadOnlyListKeyValuePairStringString),
            "body", stored.Body,
            StoreWords.TargetsField, string.Join(StoreWords.TargetsSeparator, targets),
            "trace", stored.TraceParent ?? "",
            StoreWords.OrderingField, stored.OrderingKey ?? stored.DedupeKey,
            "routes", stored.Routes ?? "",
        };
        foreach (var target in targets)
        {
            args.Add(StoreWords.State(target));
            args.Add(StoreWords.Pending);
        }

        var result = (RedisResult[])(await connection.Database.ScriptEvaluateAsync(StoreScripts.Accept, [.. keys], [.. args]).ConfigureAwait(false))!;
        return new AcceptResult((int)result[0] == 1 ? AcceptOutcome.Accepted : AcceptOutcome.Duplicate, (string)result[1]!);
    }
}
