using System.Globalization;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Keeps the embedded store inside its memory ceiling (<c>store.embedded.memory</c>). Garnet 2.2 fails the whole
/// process when it moves pages to disk while an index or a queue on them changes, so instead of letting it spill,
/// Relay stops taking new events when the store's records and objects reach <see cref="FullAt"/> of the ceiling:
/// ingress answers 503 with Retry-After (vendors retry), readiness is degraded, and everything acked stays. Taking
/// resumes below <see cref="RoomAt"/>, once deliveries and retention have freed memory. Reads the store's own figures
/// (<c>INFO memory</c>: <c>store_mainlog_memory_size</c> of <c>store_heap_memory_target_size</c>) every second.
/// </summary>
internal sealed partial class EmbeddedMemory : IAsyncDisposable
{
    /// <summary>Share of the ceiling at which new events are refused; Garnet starts writing pages to disk at the ceiling.</summary>
    public const double FullAt = 0.9;

    /// <summary>Share of the ceiling under which new events are taken again.</summary>
    public const double RoomAt = 0.8;

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly IServer _server;
    private readonly ILogger _logger;
    private readonly PeriodicTimer _timer;
    private readonly Task _loop;
    private volatile string? _problem;

    public EmbeddedMemory(IServer server, TimeProvider time, ILogger logger)
    {
        _server = server;
        _logger = logger;
        _timer = new PeriodicTimer(Interval, time);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Set while the store is full: why new events are refused, and what to do about it.</summary>
    public string? Problem => _problem;

    /// <summary>Reads the store's figures now and updates <see cref="Problem"/>.</summary>
    public async Task CheckAsync()
    {
        var info = (await _server.InfoAsync("memory").ConfigureAwait(false)).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        if (!TryRead(info, "store_mainlog_memory_size", out var used) || !TryRead(info, "store_heap_memory_target_size", out var ceiling) || ceiling <= 0)
        {
            return;
        }

        if (_problem is null && used >= ceiling * FullAt)
        {
            _problem = string.Create(
                CultureInfo.InvariantCulture,
                $"the embedded store is full ({used / (1 << 20)} of {ceiling / (1 << 20)} MB): new events are answered 503 until deliveries and retention free memory. Deliver or purge the backlog, raise store.embedded.memory, or use Redis.");
            Log.Full(_logger, used / (1 << 20), ceiling / (1 << 20));
        }
        else if (_problem is not null && used < ceiling * RoomAt)
        {
            _problem = null;
            Log.Room(_logger, used / (1 << 20), ceiling / (1 << 20));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        await _loop.ConfigureAwait(false);
    }

    private static bool TryRead(Dictionary<string, string> info, string key, out long value)
    {
        value = 0;
        return info.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    private async Task RunAsync()
    {
        while (await _timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            try
            {
                await CheckAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                // The store is unreachable: ingress already answers 503; the figures are read again at the next tick.
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1008, LogLevel.Critical, "Embedded store full: {UsedMb} of {CeilingMb} MB in use; new events are answered 503 until it falls under 80%. Deliver or purge the backlog, raise store.embedded.memory, or use Redis.")]
        public static partial void Full(ILogger logger, long usedMb, long ceilingMb);

        [LoggerMessage(1009, LogLevel.Warning, "Embedded store has room again: {UsedMb} of {CeilingMb} MB in use; new events are taken.")]
        public static partial void Room(ILogger logger, long usedMb, long ceilingMb);
    }
}

/// <summary>An event refused because the embedded store is full; a store failure like an outage, answered 503.</summary>
internal sealed class StoreFullException(string message) : RedisException(message);
