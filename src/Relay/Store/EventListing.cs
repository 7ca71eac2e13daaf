using System.Text.Json;
using Relay.Configuration;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// What operators read: newest-first listings of events and of a target's dead letters, one event in full with its
/// state per target and attempt history, and which targets are paused. Reads only; changes are <see cref="EventOperations"/>.
/// </summary>
internal sealed class EventListing(StoreConnection connection)
{
    /// <summary>
    /// Most index entries one listing reads from a partition; when a filter matches rarely the page comes back
    /// shorter, with a cursor, rather than reading a whole week of events in one request.
    /// </summary>
    private const int ScanCapPerPartition = 2000;

    private static readonly RedisValue[] SummaryFields = ["source", "type", StoreWords.ReceivedAtField, StoreWords.TargetsField];

    private StoreKeys Keys => connection.Keys;

    /// <summary>Every partition that may hold events (see <see cref="StoreLayout.Span"/>).</summary>
    private int Partitions => connection.Layout.Span;

    /// <summary>
    /// Events matching <paramref name="query"/>, newest first. Each query is driven by the narrowest index it can use
    /// (an id; a target's state index; the type index of every type matching the glob; the source's index; else every
    /// event), limited to the time range by the index's scores; the other filters are checked on the events read,
    /// at most <see cref="ScanCapPerPartition"/> entries per index and partition per call.
    /// </summary>
    /// <param name="sources">The configured source ids, where an id query looks for a vendor's own id.</param>
    /// <param name="targets">The configured target ids, for a state query that names no target.</param>
    public async Task<IndexPage<EventSummary>> SearchAsync(
        EventQuery query, IReadOnlyCollection<string> sources, IReadOnlyCollection<string> targets, int limit, IndexPosition? after)
    {
        if (query.Id is { } id)
        {
            return await PageOfAsync(await FindByIdAsync(id, sources).ConfigureAwait(false), query, limit, after).ConfigureAwait(false);
        }

        if (query.State == DeliveryState.InFlight)
        {
            return await PageOfAsync(await InFlightAsync(query.Target is { } one ? [one] : targets).ConfigureAwait(false), query, limit, after).ConfigureAwait(false);
        }

        var scans = await DrivingIndexesAsync(query, targets).ConfigureAwait(false);
        var range = (From: query.From?.ToUnixTimeMilliseconds(), To: query.To?.ToUnixTimeMilliseconds());
        var (entries, next) = await PageAsync(scans, SummaryFields, values => Matches(query, values), limit, after, range).ConfigureAwait(false);
        return new IndexPage<EventSummary>(await SummarizeAsync(entries, query).ConfigureAwait(false), next);
    }

    /// <summary>Recent events, newest first, of one source or of all.</summary>
    public Task<IndexPage<EventSummary>> ListEventsAsync(string? source, int limit, IndexPosition? after) =>
        SearchAsync(new EventQuery(Source: source), [], [], limit, after);

    /// <summary>One event with its body, headers, per-target state and attempt history; null when unknown or expired.</summary>
    public async Task<EventDetail?> GetEventAsync(string id)
    {
        if (!EventIds.TryGetPartition(id, Partitions, out var p))
        {
            return null;
        }

        // One transaction, so the states and the attempt history are of the same moment.
        var snapshot = connection.Database.CreateTransaction();
        var hashRead = snapshot.HashGetAllAsync(Keys.Event(p, id));
        var historyRead = snapshot.ListRangeAsync(Keys.History(p, id));
        await snapshot.ExecuteAsync().ConfigureAwait(false);
        var hash = (await hashRead.ConfigureAwait(false)).ToDictionary(e => (string)e.Name!, e => e.Value, StringComparer.Ordinal);
        var history = await historyRead.ConfigureAwait(false);
        if (!hash.TryGetValue("body", out var body))
        {
            return null;
        }

        var targets = TargetsOf(hash.GetValueOrDefault(StoreWords.TargetsField));
        var deliveries = await ReadDeliveriesAsync([(id, p, targets, hash)]).ConfigureAwait(false);
        var contentType = hash.GetValueOrDefault("contentType");
        return new EventDetail(
            id,
            hash.GetValueOrDefault("source")!,
            hash.GetValueOrDefault("type")!,
            JsonSerializer.Deserialize((string?)hash.GetValueOrDefault("tags") ?? "[]", StoreJson.Default.IReadOnlyListString) ?? [],
            FromUnixMs((long)hash.GetValueOrDefault("receivedAt")),
            hash.GetValueOrDefault("method")!,
            hash.GetValueOrDefault("query")!,
            contentType.IsNullOrEmpty ? null : (string?)contentType,
            JsonSerializer.Deserialize((string?)hash.GetValueOrDefault("headers") ?? "[]", StoreJson.Default.IReadOnlyListKeyValuePairStringString) ?? [],
            (byte[])body!,
            deliveries[0],
            history.Select(h => JsonSerializer.Deserialize((string)h!, StoreJson.Default.AttemptRecord)).OfType<AttemptRecord>().ToArray(),
            hash.GetValueOrDefault("routes"));
    }

    /// <summary>A target's dead letters, most recently dead-lettered first, with the reason of each.</summary>
    public async Task<IndexPage<DeadLetter>> ListDeadLettersAsync(string target, int limit, IndexPosition? after)
    {
        RedisValue[] fields = ["source", "type", "receivedAt", StoreWords.Attempts(target), StoreWords.Reason(target)];
        var (entries, next) = await PageAsync(PerPartition(p => Keys.Dead(p, target)), fields, static _ => true, limit, after).ConfigureAwait(false);
        var items = entries.Select(e => new DeadLetter(
            e.Position.Id,
            FromUnixMs(e.Position.At),
            e.Values[0],
            e.Values[1],
            e.Values[2].IsNull ? null : FromUnixMs((long)e.Values[2]),
            e.Values[3].IsNull ? 0 : (int)e.Values[3],
            e.Values[4])).ToArray();
        return new IndexPage<DeadLetter>(items, next);
    }

    /// <summary>Which targets an operator paused.</summary>
    public async Task<IReadOnlySet<string>> PausedTargetsAsync() =>
        (await connection.Database.HashKeysAsync(Keys.Paused).ConfigureAwait(false)).Select(k => (string)k!).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The ordering keys of a target held behind a dead letter (<c>onDeadLetter: block</c>), oldest first: for each,
    /// the dead letter that holds it, why it died, and how many events of the key wait behind it.
    /// </summary>
    public async Task<IReadOnlyList<BlockedKey>> BlockedKeysAsync(string target)
    {
        var blocked = new List<BlockedKey>();
        for (var p = 0; p < Partitions; p++)
        {
            foreach (var entry in await connection.Database.SortedSetRangeByRankWithScoresAsync(Keys.Blocked(p, target)).ConfigureAwait(false))
            {
                var key = (string)entry.Element!;
                var queue = Keys.KeyQueue(p, target, key);
                var head = (string?)await connection.Database.ListGetByIndexAsync(queue, 0).ConfigureAwait(false);
                if (head is null)
                {
                    continue;
                }

                var waiting = await connection.Database.ListLengthAsync(queue).ConfigureAwait(false) - 1;
                var reason = (string?)await connection.Database.HashGetAsync(Keys.Event(p, head), StoreWords.Reason(target)).ConfigureAwait(false);
                blocked.Add(new BlockedKey(key, head, DateTimeOffset.FromUnixTimeMilliseconds((long)entry.Score), reason, waiting));
            }
        }

        return [.. blocked.OrderBy(b => b.Since)];
    }

    private (int Partition, RedisKey Index)[] PerPartition(Func<int, RedisKey> index) =>
        [.. Enumerable.Range(0, Partitions).Select(p => (p, index(p)))];

    /// <summary>
    /// The indexes a query reads: a target's (or every target's) state index (for purged, the index of every event
    /// routed to it); the type index of each type matching the glob; the source's index; or the index of every event.
    /// </summary>
    private async Task<IReadOnlyList<(int Partition, RedisKey Index)>> DrivingIndexesAsync(EventQuery query, IReadOnlyCollection<string> targets)
    {
        if (query.State is { } state)
        {
            var stateTargets = query.Target is { } one ? [one] : targets;
            return [.. from p in Enumerable.Range(0, Partitions)
                       from t in stateTargets
                       select (p, state == DeliveryState.Purged ? Keys.Routed(p, t) : Keys.StateIndex(p, t, state.Name()))];
        }

        if (query.TypeGlob is { } glob)
        {
            var batch = connection.Database.CreateBatch();
            var types = Enumerable.Range(0, Partitions).Select(p => (p, Read: batch.SortedSetRangeByRankAsync(Keys.Types(p)))).ToArray();
            batch.Execute();
            var indexes = new List<(int, RedisKey)>();
            foreach (var (p, read) in types)
            {
                indexes.AddRange((await read.ConfigureAwait(false)).Select(t => (string)t!).Where(t => EventTypeGlob.IsMatch(glob, t)).Select(t => (p, Keys.TypeIndex(p, t))));
            }

            return indexes;
        }

        return query.Source is { } source ? PerPartition(p => Keys.SourceIndex(p, source)) : PerPartition(Keys.Index);
    }

    /// <summary>The filters checked on an event's summary fields (source, type, received-at, targets).</summary>
    private static bool Matches(EventQuery query, RedisValue[] values) =>
        !values[0].IsNull
        && (query.Source is null || values[0] == query.Source)
        && (query.TypeGlob is null || EventTypeGlob.IsMatch(query.TypeGlob, values[1]!))
        && (query.Target is null || TargetsOf(values[3]).Contains(query.Target, StringComparer.Ordinal));

    /// <summary>Summaries of the entries, with each target's state; a state query keeps only events in that state now.</summary>
    private async Task<IReadOnlyList<EventSummary>> SummarizeAsync(IReadOnlyList<(IndexPosition Position, int Partition, RedisValue[] Values)> entries, EventQuery query)
    {
        var deliveries = await ReadDeliveriesAsync([.. entries.Select(e => (e.Position.Id, e.Partition, TargetsOf(e.Values[3]), (Dictionary<string, RedisValue>?)null))]).ConfigureAwait(false);
        var summaries = new List<EventSummary>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (query.State is not { } state || deliveries[i].Any(d => d.State == state && (query.Target is null || d.Target == query.Target)))
            {
                summaries.Add(new EventSummary(e.Position.Id, e.Values[0]!, e.Values[1]!, FromUnixMs((long)e.Values[2]), deliveries[i]));
            }
        }

        return summaries;
    }

    /// <summary>
    /// An id query: an event id leads straight to its event; anything else is looked up as a vendor's own id (the
    /// dedupe key) of each source in each partition, which finds it while the source's dedupe window holds.
    /// </summary>
    private async Task<IReadOnlyList<(string Id, int Partition)>> FindByIdAsync(string id, IReadOnlyCollection<string> sources)
    {
        if (EventIds.TryGetPartition(id, Partitions, out var partition))
        {
            return [(id, partition)];
        }

        var batch = connection.Database.CreateBatch();
        var reads = (from p in Enumerable.Range(0, Partitions) from source in sources select (p, Read: batch.StringGetAsync(Keys.Dedupe(p, source, id)))).ToArray();
        batch.Execute();
        var found = new List<(string, int)>();
        foreach (var (p, read) in reads)
        {
            if ((string?)await read.ConfigureAwait(false) is { } eventId)
            {
                found.Add((eventId, p));
            }
        }

        return found;
    }

    /// <summary>The events being delivered now: the lease sets, small by nature (at most each target's concurrency per replica).</summary>
    private async Task<IReadOnlyList<(string Id, int Partition)>> InFlightAsync(IReadOnlyCollection<string> targets)
    {
        var batch = connection.Database.CreateBatch();
        var reads = (from p in Enumerable.Range(0, Partitions) from t in targets select (p, Read: batch.SortedSetRangeByRankAsync(Keys.Lease(p, t)))).ToArray();
        batch.Execute();
        var found = new List<(string, int)>();
        foreach (var (p, read) in reads)
        {
            found.AddRange((await read.ConfigureAwait(false)).Select(id => ((string)id!, p)));
        }

        return found;
    }

    /// <summary>A page of a few known events: read, filtered, ordered newest first, cut at the cursor and the limit.</summary>
    private async Task<IndexPage<EventSummary>> PageOfAsync(IReadOnlyList<(string Id, int Partition)> found, EventQuery query, int limit, IndexPosition? after)
    {
        var batch = connection.Database.CreateBatch();
        var reads = found.DistinctBy(f => f.Id, StringComparer.Ordinal).Select(f => (f, Read: batch.HashGetAsync(Keys.Event(f.Partition, f.Id), SummaryFields))).ToArray();
        batch.Execute();
        var entries = new List<(IndexPosition Position, int Partition, RedisValue[] Values)>();
        foreach (var (f, read) in reads)
        {
            var values = await read.ConfigureAwait(false);
            if (Matches(query, values))
            {
                var position = new IndexPosition((long)values[2], f.Id);
                if (InRange(query, position.At) && (after is null || position.CompareTo(after.Value) < 0))
                {
                    entries.Add((position, f.Partition, values));
                }
            }
        }

        var ordered = entries.OrderByDescending(e => e.Position).ToArray();
        var page = ordered.Take(limit).ToArray();
        var summaries = await SummarizeAsync(page, query).ConfigureAwait(false);
        return new IndexPage<EventSummary>(summaries, ordered.Length > limit ? page[^1].Position : null);
    }

    private static bool InRange(EventQuery query, long receivedAt) =>
        (query.From is null || receivedAt >= query.From.Value.ToUnixTimeMilliseconds())
        && (query.To is null || receivedAt < query.To.Value.ToUnixTimeMilliseconds());

    private static RedisValue[] DeliveryFields(string target) =>
        [StoreWords.State(target), StoreWords.Attempts(target), StoreWords.Next(target), StoreWords.At(target), StoreWords.Reason(target)];

    private static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string[] TargetsOf(RedisValue targets) =>
        targets.IsNullOrEmpty ? [] : ((string)targets!).Split(StoreWords.TargetsSeparator, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// Per event, its state with each of its targets: the event's fields (read here, or taken from
    /// <c>Hash</c> when the caller has the whole hash already) plus lease and dead-letter membership, one batch.
    /// </summary>
    private async Task<IReadOnlyList<TargetDelivery>[]> ReadDeliveriesAsync((string Id, int Partition, string[] Targets, Dictionary<string, RedisValue>? Hash)[] events)
    {
        var batch = connection.Database.CreateBatch();
        var reads = events.Select(e => e.Targets.Select(t => (
            Target: t,
            Fields: e.Hash is { } hash
                ? Task.FromResult<RedisValue[]>([.. DeliveryFields(t).Select(f => hash.GetValueOrDefault((string)f!))])
                : batch.HashGetAsync(Keys.Event(e.Partition, e.Id), DeliveryFields(t)),
            Leased: batch.SortedSetScoreAsync(Keys.Lease(e.Partition, t), e.Id),
            Dead: batch.SortedSetScoreAsync(Keys.Dead(e.Partition, t), e.Id))).ToArray()).ToArray();
        batch.Execute();
        var result = new IReadOnlyList<TargetDelivery>[events.Length];
        for (var i = 0; i < reads.Length; i++)
        {
            var deliveries = new List<TargetDelivery>(reads[i].Length);
            foreach (var read in reads[i])
            {
                var f = await read.Fields.ConfigureAwait(false);
                var leased = (await read.Leased.ConfigureAwait(false)).HasValue;
                var dead = (await read.Dead.ConfigureAwait(false)).HasValue;
                var state = (string?)f[0] switch
                {
                    _ when leased => DeliveryState.InFlight,
                    StoreWords.Delivered => DeliveryState.Delivered,
                    StoreWords.Retrying => DeliveryState.Retrying,
                    StoreWords.Dead => dead ? DeliveryState.Dead : DeliveryState.Purged,
                    StoreWords.Quarantined => dead ? DeliveryState.Quarantined : DeliveryState.Purged,
                    StoreWords.Purged => DeliveryState.Purged,
                    _ => DeliveryState.Pending,
                };
                deliveries.Add(new TargetDelivery(
                    read.Target,
                    state,
                    f[1].IsNull ? 0 : (int)f[1],
                    state == DeliveryState.Retrying && !f[2].IsNull ? FromUnixMs((long)f[2]) : null,
                    f[3].IsNull ? null : FromUnixMs((long)f[3]),
                    f[4].IsNull ? null : (string?)f[4]));
            }

            result[i] = deliveries;
        }

        return result;
    }

    /// <summary>
    /// Reads a newest-first page from sorted sets kept per partition (score = time), merged. Each set gives its newest
    /// <paramref name="limit"/> matching entries after the cursor, so the newest <paramref name="limit"/> of their union
    /// is exactly the global page. A set that stops at its scan cap may hold older matches not seen yet: the page then
    /// ends where that set stopped. An entry found in several sets (one event in the state indexes of two targets)
    /// is listed once.
    /// </summary>
    private async Task<(IReadOnlyList<(IndexPosition Position, int Partition, RedisValue[] Values)> Entries, IndexPosition? Next)> PageAsync(
        IReadOnlyList<(int Partition, RedisKey Index)> indexes,
        RedisValue[] fields,
        Func<RedisValue[], bool> keep,
        int limit,
        IndexPosition? after,
        (long? From, long? To) range = default)
    {
        var scans = await Task.WhenAll(indexes.Select(ix => ScanPartitionAsync(ix.Partition, ix.Index, fields, keep, limit, after, range))).ConfigureAwait(false);
        IndexPosition? bound = null;
        foreach (var scan in scans)
        {
            if (scan.StoppedAt is { } stop && (bound is null || stop.CompareTo(bound.Value) > 0))
            {
                bound = stop;
            }
        }

        var merged = scans
            .SelectMany(s => s.Found.Select(f => (f.Position, s.Partition, f.Values)))
            .Where(e => bound is null || e.Position.CompareTo(bound.Value) >= 0)
            .DistinctBy(e => e.Position.Id, StringComparer.Ordinal)
            .OrderByDescending(e => e.Position)
            .ToList();
        var more = merged.Count > limit || scans.Any(s => s.MayHaveMore);
        var page = merged.Take(limit).ToArray();
        IndexPosition? next = page.Length == limit && more ? page[^1].Position : bound;
        return (page, next);
    }

    private async Task<(int Partition, List<(IndexPosition Position, RedisValue[] Values)> Found, IndexPosition? StoppedAt, bool MayHaveMore)> ScanPartitionAsync(
        int partition, RedisKey zset, RedisValue[] fields, Func<RedisValue[], bool> keep, int limit, IndexPosition? after, (long? From, long? To) range = default)
    {
        // "to" is exclusive: the newest score read is one millisecond before it.
        var newest = range.To is { } to ? to - 1 : double.PositiveInfinity;
        var oldest = range.From ?? double.NegativeInfinity;
        var found = new List<(IndexPosition, RedisValue[])>();
        var cursor = after;
        var chunk = Math.Max(limit, 64);
        var scanned = 0;
        while (true)
        {
            // Continue from the last position rather than an offset, so events arriving meanwhile do not shift the page.
            var entries = await connection.Database.SortedSetRangeByScoreWithScoresAsync(
                zset, oldest, Math.Min(cursor?.At ?? double.PositiveInfinity, newest), Exclude.None, Order.Descending, 0, chunk).ConfigureAwait(false);
            var fresh = entries
                .Select(e => new IndexPosition((long)e.Score, (string)e.Element!))
                .Where(pos => cursor is null || pos.CompareTo(cursor.Value) < 0)
                .ToArray();
            if (fresh.Length == 0)
            {
                if (entries.Length < chunk)
                {
                    return (partition, found, null, false);
                }

                // A full chunk of entries that share the cursor's millisecond and were already seen: look further.
                chunk *= 2;
                continue;
            }

            var batch = connection.Database.CreateBatch();
            var reads = fresh.Select(pos => batch.HashGetAsync(Keys.Event(partition, pos.Id), fields)).ToArray();
            batch.Execute();
            for (var i = 0; i < fresh.Length; i++)
            {
                var values = await reads[i].ConfigureAwait(false);
                if (keep(values))
                {
                    found.Add((fresh[i], values));
                }
            }

            cursor = fresh[^1];
            scanned += fresh.Length;
            if (entries.Length < chunk)
            {
                return (partition, found, null, false);
            }

            if (found.Count >= limit)
            {
                return (partition, found, null, true);
            }

            if (scanned >= ScanCapPerPartition)
            {
                return (partition, found, cursor, true);
            }
        }
    }
}
