using System.Net;
using System.Net.Sockets;

namespace Relay.Outbound;

/// <summary>
/// The one policy for every HTTP request Relay makes itself: deliveries to targets, connector streams and their token
/// endpoints, and deferred checks. Requests go exactly where configured: no proxy picked up from the environment, no
/// redirects (Standard Webhooks forbids following them), no cookies, no decompression. Connecting is bounded on its own,
/// and pooled connections are replaced every few minutes so a DNS change is seen (YARP's ForwarderHttpClientFactory).
/// </summary>
internal static class OutboundHttp
{
    /// <summary>How long a pooled connection is reused before it is replaced.</summary>
    public static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(5);

    /// <param name="connectTimeout">Longest wait for a TCP (and TLS) connection.</param>
    /// <param name="maxConnectionsPerServer">Pool size per host; a target's is its delivery concurrency.</param>
    /// <param name="connected">Told of every new TCP connection, so reuse can be watched: a pool that works opens few.</param>
    public static SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, int maxConnectionsPerServer = int.MaxValue, Action? connected = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = connectTimeout,
            MaxConnectionsPerServer = maxConnectionsPerServer,
            PooledConnectionLifetime = PooledConnectionLifetime,
        };
        if (connected is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                // What the handler does without a callback (a dual-mode socket, Nagle off), plus the count.
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                connected();
                return new NetworkStream(socket, ownsSocket: true);
            };
        }

        return handler;
    }

    /// <summary>
    /// A client over <paramref name="handler"/> without HttpClient's own 100 s timeout: callers bound each request
    /// themselves (a target's timeout, a stream's idle timeout), which HttpClient.Timeout cannot express.
    /// </summary>
    public static HttpClient CreateClient(HttpMessageHandler handler, bool disposeHandler = true) =>
        new(handler, disposeHandler) { Timeout = Timeout.InfiniteTimeSpan };
}
