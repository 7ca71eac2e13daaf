using StackExchange.Redis;

namespace Relay.Store;

/// <summary>The store's partition count was changed without the migration, or by a migration while this replica ran.</summary>
internal sealed class StoreLayoutException(string message) : RedisException(message);

/// <summary>
/// How the store is partitioned, as the store itself records it (hash <c>{prefix}:layout</c>): new events go to one of
/// <see cref="Partitions"/> partitions by their ordering key; events may still sit in any of the first
/// <see cref="Span"/> partitions (the most ever used), which every reader covers. A relay configured with another
/// partition count than the store's refuses to start: the same ordering key would land elsewhere, so vendor retries
/// of earlier events would pass dedupe, and events queued under the old count would be read by nobody. The
/// <c>migrate-partitions</c> command changes the count without losing either.
/// </summary>
internal sealed record StoreLayout(int Partitions, int Span)
{
    private const string PartitionsField = "partitions";
    private const string SpanField = "span";

    public static RedisKey Key(StoreKeys keys) => $"{{{keys.Prefix}}}:layout";

    /// <summary>Records <paramref name="configured"/> for a new store, or reads the store's layout and checks it agrees.</summary>
    public static async Task<StoreLayout> LoadAsync(IDatabase database, StoreKeys keys, int configured)
    {
        var key = Key(keys);
        await database.HashSetAsync(key, PartitionsField, configured, When.NotExists).ConfigureAwait(false);
        await database.HashSetAsync(key, SpanField, configured, When.NotExists).ConfigureAwait(false);
        var layout = await ReadAsync(database, keys).ConfigureAwait(false);
        return layout.Partitions == configured
            ? layout
            : throw new StoreLayoutException(
                $"store.partitions is {configured}, but this store was set up with {layout.Partitions} partitions. Changing the count without " +
                $"migrating would hide queued events and let vendor retries through dedupe. Set store.partitions back to {layout.Partitions}, " +
                $"or stop every replica and run the migration with this config: Relay migrate-partitions --config <file> (see README, \"Changing store.partitions\").");
    }

    public static async Task<StoreLayout> ReadAsync(IDatabase database, StoreKeys keys)
    {
        var values = await database.HashGetAsync(Key(keys), [PartitionsField, SpanField]).ConfigureAwait(false);
        return values[0].IsNull
            ? throw new StoreLayoutException("The store's layout record is gone; restart the relay to record it again.")
            : new StoreLayout((int)values[0], values[1].IsNull ? (int)values[0] : (int)values[1]);
    }

    /// <summary>Records a migrated layout: <paramref name="partitions"/> from now on, every partition ever used still read.</summary>
    public static async Task<StoreLayout> SaveAsync(IDatabase database, StoreKeys keys, StoreLayout current, int partitions)
    {
        var migrated = new StoreLayout(partitions, Math.Max(current.Span, partitions));
        await database.HashSetAsync(Key(keys), [new HashEntry(PartitionsField, migrated.Partitions), new HashEntry(SpanField, migrated.Span)]).ConfigureAwait(false);
        return migrated;
    }
}
