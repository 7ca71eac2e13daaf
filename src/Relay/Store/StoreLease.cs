using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// A renewable lease in the store: one owner at a time holds a key for a time to live and keeps extending it.
/// Taken with SET NX PX; extended and released only by the owner that holds it (compare-and-extend,
/// compare-and-delete scripts), so a replica that lost the lease can never extend or delete another's.
/// </summary>
internal sealed class StoreLease(StoreConnection connection, RedisKey key, string owner)
{
    public string Owner { get; } = owner;

    /// <summary>Takes the lease if nobody holds it; true also when this owner holds it already.</summary>
    public async Task<bool> TryAcquireAsync(TimeSpan ttl) =>
        await connection.Database.StringSetAsync(key, Owner, ttl, When.NotExists).ConfigureAwait(false)
        || await RenewAsync(ttl).ConfigureAwait(false);

    /// <summary>Extends the lease; false when it expired or another owner holds it now.</summary>
    public async Task<bool> RenewAsync(TimeSpan ttl) =>
        (int)await connection.Database.ScriptEvaluateAsync(StoreScripts.LeaseRenew, [key], [Owner, (long)ttl.TotalMilliseconds]).ConfigureAwait(false) == 1;

    /// <summary>Gives the lease up if this owner holds it.</summary>
    public async Task ReleaseAsync() =>
        await connection.Database.ScriptEvaluateAsync(StoreScripts.LeaseRelease, [key], [Owner]).ConfigureAwait(false);

    /// <summary>Who holds the lease now, or null when nobody does.</summary>
    public async Task<string?> HolderAsync() => await connection.Database.StringGetAsync(key).ConfigureAwait(false);
}
