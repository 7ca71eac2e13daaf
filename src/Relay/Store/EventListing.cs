using System.Text.Json;
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

    private static readonly RedisValue[] SummaryFields = ["source", "type", "receivedAt", "targets"];

    private StoreKeys Keys => connection.Keys;

    private int Partitions => connection.Config.Partitions;

    public async Task<IndexPage<EventSummary>> ListEventsAsync(string? source, int limit, IndexPosition? after)
    {
        var (entries, next) = await PageAsync(
            Keys.Index,
            _ => SummaryFields,
            values => !values[0].IsNull && (source is null || values[0] == source),
            limit,
            after).ConfigureAwait(false);
        var deliveries = await ReadDeliveriesAsync(entries.Select(e => (e.Position.Id, e.Partition, TargetsOf(e.Values[3]), (Dictionary<string, RedisValue>?)null)).ToArray()).ConfigureAwait(false);
        var items = entries.Select((e, i) => new EventSummary(
            e.Position.Id, e.Values[0]!, e.Values[1]!, FromUnixMs((long)e.Values[2]), deliveries[i])).ToArray();
        return new IndexPage<EventSummary>(items, next);
    }

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

        var targets = TargetsOf(hash.GetValueOrDefault("targets"));
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
            history.Select(h => JsonSerializer.Deserialize((string)h!, StoreJson.Default.AttemptRecord)).OfType<AttemptRecord>().ToArray());
    }

    /// <summary>A target's dead letters, most recently dead-lettered first, with the reason of each.</summary>
    public async Task<IndexPage<DeadLetter>> ListDeadLettersAsync(string target, int limit, IndexPosition? after)
    {
        RedisValue[] fields = ["source", "type", "receivedAt", StoreWords.Attempts(target), StoreWords.Reason(target)];
        var (entries, next) = await PageAsync(p => Keys.Dead(p, target), _ => fields, static _ => true, limit, after).ConfigureAwait(false);
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

    private static RedisValue[] DeliveryFields(string target) =>
        [StoreWords.State(target), StoreWords.Attempts(target), StoreWords.Next(target), StoreWords.At(target), StoreWords.Reason(target)];

    private static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string[] TargetsOf(RedisValue targets) =>
        targets.IsNullOrEmpty ? [] : ((string)targets!).Split(',', StringSplitOptions.RemoveEmptyEntries);

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
    /// Reads a newest-first page from a sorted set kept per partition (score = time), merged across partitions.
    /// Each partition gives its newest <paramref name="limit"/> matching entries after the cursor, so the newest
    /// <paramref name="limit"/> of their union is exactly the global page. A partition that stops at its scan cap
    /// may hold older matches not seen yet: the page then ends where that partition stopped.
    /// </summary>
    private async Task<(IReadOnlyList<(IndexPosition Position, int Partition, RedisValue[] Values)> Entries, IndexPosition? Next)> PageAsync(
        Func<int, RedisKey> zsetOf,
        Func<int, RedisValue[]> fieldsOf,
        Func<RedisValue[], bool> keep,
        int limit,
        IndexPosition? after)
    {
        var scans = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => ScanPartitionAsync(p, zsetOf(p), fieldsOf(p), keep, limit, after))).ConfigureAwait(false);
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
            .OrderByDescending(e => e.Position)
            .ToList();
        var more = merged.Count > limit || scans.Any(s => s.MayHaveMore);
        var page = merged.Take(limit).ToArray();
        IndexPosition? next = page.Length == limit && more ? page[^1].Position : bound;
        return (page, next);
    }

    private async Task<(int Partition, List<(IndexPosition Position, RedisValue[] Values)> Found, IndexPosition? StoppedAt, bool MayHaveMore)> ScanPartitionAsync(
        int partition, RedisKey zset, RedisValue[] fields, Func<RedisValue[], bool> keep, int limit, IndexPosition? after)
    {
        var found = new List<(IndexPosition, RedisValue[])>();
        var cursor = after;
        var chunk = Math.Max(limit, 64);
        var scanned = 0;
        while (true)
        {
            // Continue from the last position rather than an offset, so events arriving meanwhile do not shift the page.
            var entries = await connection.Database.SortedSetRangeByScoreWithScoresAsync(
                zset, double.NegativeInfinity, cursor?.At ?? double.PositiveInfinity, Exclude.None, Order.Descending, 0, chunk).ConfigureAwait(false);
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
