using StackExchange.Redis;

namespace Relay.Store;

/// <summary>What a partition migration did.</summary>
/// <param name="Placed">Dedupe keys copied to the partition their ordering key falls in under the new count.</param>
/// <param name="Everywhere">Dedupe keys whose event (and so ordering key) is gone, copied to every new partition.</param>
internal readonly record struct MigrationReport(StoreLayout Before, StoreLayout After, long Placed, long Everywhere);

/// <summary>
/// Changes the store's partition count, offline (every replica stopped), without losing an event or a dedupe.
/// Events stay where they are: their ids name their partition and targets know them by id, so moving them would
/// change what targets see; every reader covers all partitions ever used (<see cref="StoreLayout.Span"/>) until they
/// drain. Dedupe keys move: each is copied, with its remaining time to live, to the partition its event's ordering key
/// falls in under the new count, so a vendor's retry of an event accepted before is still recognised. A dedupe key
/// whose event has expired is copied to every new partition, since its ordering key is no longer known.
/// </summary>
internal static class PartitionMigration
{
    private const string DedupeMarker = ":dedup:";

    public static async Task<MigrationReport> RunAsync(StoreConnection connection, int partitions)
    {
        var database = connection.Database;
        var before = await StoreLayout.ReadAsync(database, connection.Keys).ConfigureAwait(false);
        if (before.Partitions == partitions)
        {
            return new MigrationReport(before, before, 0, 0);
        }

        long placed = 0, everywhere = 0;
        var servers = database.Multiplexer.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToArray();
        for (var p = 0; p < before.Span; p++)
        {
            var pattern = connection.Keys.DedupePattern(p);
            foreach (var server in servers)
            {
                await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 1000).ConfigureAwait(false))
                {
                    var copied = await CopyAsync(connection, before, partitions, key).ConfigureAwait(false);
                    placed += copied == 1 ? 1 : 0;
                    everywhere += copied > 1 ? 1 : 0;
                }
            }
        }

        var after = await StoreLayout.SaveAsync(database, connection.Keys, before, partitions).ConfigureAwait(false);
        await connection.WaitDurableAsync([StoreLayout.Key(connection.Keys), .. Enumerable.Range(0, after.Span).Select(connection.Keys.Index)]).ConfigureAwait(false);
        return new MigrationReport(before, after, placed, everywhere);
    }

    /// <summary>Copies one dedupe key to where the new count puts it; returns to how many partitions (0: already there).</summary>
    private static async Task<int> CopyAsync(StoreConnection connection, StoreLayout before, int partitions, RedisKey key)
    {
        var database = connection.Database;
        var name = key.ToString();
        var marker = name.IndexOf(DedupeMarker, StringComparison.Ordinal);
        var rest = name[(marker + DedupeMarker.Length)..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        var (source, dedupeKey) = (rest[..colon], rest[(colon + 1)..]);
        var eventId = (string?)await database.StringGetAsync(key).ConfigureAwait(false);
        var ttl = await database.KeyTimeToLiveAsync(key).ConfigureAwait(false);
        if (eventId is null || ttl is null)
        {
            return 0;
        }

        string? ordering = null;
        if (EventIds.TryGetPartition(eventId, before.Span, out var eventPartition))
        {
            ordering = await database.HashGetAsync(connection.Keys.Event(eventPartition, eventId), StoreWords.OrderingField).ConfigureAwait(false);
        }

        var destinations = ordering is null ? Enumerable.Range(0, partitions) : [EventIds.PartitionOf(ordering, partitions)];
        var copies = 0;
        foreach (var destination in destinations)
        {
            var copy = connection.Keys.Dedupe(destination, source, dedupeKey);
            if (copy != key && await database.StringSetAsync(copy, eventId, ttl, When.NotExists).ConfigureAwait(false))
            {
                copies++;
            }
        }

        return copies;
    }
}
