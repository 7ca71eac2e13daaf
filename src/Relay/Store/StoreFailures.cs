using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// The exceptions that mean "the store cannot be reached right now" (disconnected, timed out, or shut down under
/// us), as opposed to a bug. Callers answer them with a 503, a retry or a pause, never with a crash.
/// </summary>
internal static class StoreFailures
{
    public static bool IsStoreFailure(Exception ex) => ex is RedisException or TimeoutException or ObjectDisposedException;
}
