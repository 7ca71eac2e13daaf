using System.Net;

namespace Relay.Load;

/// <summary>The HTTP client every load run sends with, set up like a vendor's sender: pooled keep-alive connections, nothing else.</summary>
internal static class LoadClients
{
    /// <summary>
    /// Caps connections of an open-model run: past it, requests queue in the handler, and since latency counts from
    /// the due time, that queueing is measured rather than hidden.
    /// </summary>
    private const int MaxConnections = 512;

    public static HttpClient Create(Uri baseAddress) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxConnectionsPerServer = MaxConnections,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>Request budget of a closed-model run: far above what one loopback server sustains, so it never cuts a run short.</summary>
    public static long ClosedCapacity(TimeSpan duration) => (long)(duration.TotalSeconds * 100_000);
}
