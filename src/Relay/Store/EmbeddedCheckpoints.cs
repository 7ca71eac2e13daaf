using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Bounds the embedded store's disk use and restart time. Without checkpoints the append-only file only grows, and
/// a restart replays all of it. Each checkpoint (<c>SAVE</c>: a snapshot that does not block other clients) lets
/// Garnet drop the AOF segments it covers and the older snapshot, so the data folder holds one snapshot plus the
/// writes since. Measured here: ~50–200 ms per checkpoint of 10k events of 2 KB, and over 3 s at 800,000 events, so
/// it is given a connection of its own: commands queued behind SAVE on a connection wait until it is on disk.
/// </summary>
internal sealed partial class EmbeddedCheckpoints : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    /// <summary>How long a checkpoint may take; it runs on a connection of its own, so nothing else waits for it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    private readonly IServer _server;
    private readonly ILogger _logger;
    private readonly PeriodicTimer _timer;
    private readonly Task _loop;

    public EmbeddedCheckpoints(IServer server, TimeProvider time, ILogger logger)
    {
        _server = server;
        _logger = logger;
        _timer = new PeriodicTimer(Interval, time);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Takes a checkpoint now; completes when it is on disk.</summary>
    /// <remarks>
    /// Plain <c>SAVE</c>, not the client's <c>SaveType</c>: that warns about Redis, where SAVE blocks the server.
    /// Garnet checkpoints concurrently with other clients; SAVE only makes this caller, and whatever is queued behind it on
    /// the same connection, wait for the result.
    /// </remarks>
    public Task CheckpointAsync() => _server.ExecuteAsync("SAVE");

    /// <summary>Stops the loop and takes a last checkpoint, so the next start replays little.</summary>
    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        await _loop.ConfigureAwait(false);
        await TryCheckpointAsync().ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        while (await _timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            await TryCheckpointAsync().ConfigureAwait(false);
        }
    }

    private async Task TryCheckpointAsync()
    {
        try
        {
            await CheckpointAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            // Nothing is lost: the AOF still holds every write; it is only kept longer, until the next checkpoint.
            Log.CheckpointFailed(_logger, ex.GetType().Name, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1003, LogLevel.Warning, "Embedded store checkpoint failed ({Error}: {Message}); the append-only file keeps growing until one succeeds.")]
        public static partial void CheckpointFailed(ILogger logger, string error, string message);
    }
}
