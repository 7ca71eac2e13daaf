using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Makes acks wait until enough Redis replicas confirm the writes (<c>store.durability: replicas</c>), so that a failover
/// to a replica cannot lose an acked event. Per primary, callers join the current batch; a loop swaps in a new batch,
/// then sends, on that primary, a marker write into the written keys' slot followed by <c>WAITAOF 1 N t</c> (Redis 7.2+)
/// or <c>WAIT N t</c>. The marker's replication offset is past every write the primary had taken before it, from any
/// connection, so one confirmation covers the whole batch, a vendor retry answered as a duplicate on another relay's
/// connection, and writes made before a reconnect. WAIT blocks the connection it is sent on, so it runs on a dedicated
/// connection: the shared one never stalls behind a replica.
/// </summary>
/// <remarks>
/// Too few confirmations within the timeout, or a primary that cannot be reached, fail the batch with an exception
/// <see cref="StoreFailures.IsStoreFailure"/> matches: the ack is refused (503), never given.
/// </remarks>
internal sealed partial class ReplicaGroupWait : IAsyncDisposable
{
    /// <summary>How long a marker key lives; it only needs to outlive the WAIT after it.</summary>
    private const string MarkerTtlMs = "60000";

    private readonly ConnectionMultiplexer _routing;
    private readonly ConnectionMultiplexer _waits;
    private readonly int _minReplicas;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<EndPoint, PrimaryWait> _primaries = new();
    private long _lastRefresh;

    private ReplicaGroupWait(ConnectionMultiplexer routing, ConnectionMultiplexer waits, int minReplicas, TimeSpan timeout, bool waitAof, TimeProvider time, ILogger logger)
    {
        _logger = logger;
        _routing = routing;
        _waits = waits;
        _minReplicas = minReplicas;
        _timeout = timeout;
        WaitsForAof = waitAof;
        _time = time;
    }

    /// <summary>True when confirmations use WAITAOF (every primary was Redis 7.2 or later at start-up), false for WAIT.</summary>
    public bool WaitsForAof { get; }

    /// <summary>
    /// Opens the dedicated connection with <paramref name="options"/> and decides, once, between WAITAOF and WAIT from the
    /// versions of the primaries <paramref name="routing"/> is connected to (WAIT when none is: it works on every version).
    /// </summary>
    public static async Task<ReplicaGroupWait> StartAsync(
        ConfigurationOptions options, ConnectionMultiplexer routing, int minReplicas, TimeSpan timeout, TimeProvider time, ILogger logger)
    {
        var dedicated = options.Clone();
        dedicated.ClientName = "relay-durability";

        // A WAIT legitimately takes up to the timeout; the client must not give up on it before the server answers.
        dedicated.AsyncTimeout = (int)Math.Max(dedicated.AsyncTimeout, timeout.TotalMilliseconds + 2000);
        var waits = await ConnectionMultiplexer.ConnectAsync(dedicated).ConfigureAwait(false);
        var primaries = routing.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        var waitAof = primaries.Count > 0 && primaries.All(s => s.Version >= new Version(7, 2));
        return new ReplicaGroupWait(routing, waits, minReplicas, timeout, waitAof, time, logger);
    }

    /// <summary>
    /// Completes once the primaries holding <paramref name="written"/> (one key per slot written is enough) have their
    /// writes confirmed by the configured number of replicas; throws a store failure when they are not, within the timeout.
    /// </summary>
    public Task WaitAsync(IReadOnlyList<RedisKey> written)
    {
        if (written.Count == 1)
        {
            return Join(written[0]);
        }

        var joined = new Dictionary<EndPoint, Task>();
        foreach (var key in written)
        {
            var endpoint = PrimaryOf(key);
            if (!joined.ContainsKey(endpoint))
            {
                joined[endpoint] = Primary(endpoint).JoinAsync(StoreKeys.DurabilityMarker(key));
            }
        }

        return joined.Count switch
        {
            0 => Task.CompletedTask,
            1 => joined.Values.First(),
            _ => Task.WhenAll(joined.Values),
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var primary in _primaries.Values)
        {
            await primary.DisposeAsync().ConfigureAwait(false);
        }

        await _waits.CloseAsync().ConfigureAwait(false);
        _waits.Dispose();
    }

    /// <summary>
    /// Has the dedicated connection read the cluster's topology again, at most once a second: after a failover it still
    /// takes the promoted primary for a replica (and refuses to send it the marker write) until it does.
    /// </summary>
    private async Task RefreshTopologyAsync()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastRefresh);
        if ((last != 0 && _time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(1)) || Interlocked.CompareExchange(ref _lastRefresh, now, last) != last)
        {
            return;
        }

        await _waits.ConfigureAsync().ConfigureAwait(false);
    }

    private Task Join(RedisKey key) => Primary(PrimaryOf(key)).JoinAsync(StoreKeys.DurabilityMarker(key));

    // The shared connection's view of which primary owns the key's slot: the node that took the writes just made.
    private EndPoint PrimaryOf(RedisKey key) => _routing.GetServer(key, flags: CommandFlags.DemandMaster).EndPoint;

    private PrimaryWait Primary(EndPoint endpoint) => _primaries.GetOrAdd(endpoint, static (e, self) => new PrimaryWait(self, e), this);

    /// <summary>The batches of one primary, confirmed one WAIT at a time.</summary>
    private sealed class PrimaryWait : IAsyncDisposable
    {
        private readonly ReplicaGroupWait _owner;
        private readonly EndPoint _endpoint;
        private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        private readonly Task _loop;
        private TaskCompletionSource _batch = NewBatch();
        private string _marker = "";

        public PrimaryWait(ReplicaGroupWait owner, EndPoint endpoint)
        {
            _owner = owner;
            _endpoint = endpoint;
            _loop = Task.Run(RunAsync);
        }

        /// <summary>
        /// Joins the batch a confirmation will be sent for after this call; <paramref name="marker"/> is a key in a slot
        /// the caller wrote. Throws <see cref="TimeoutException"/> once the timeout has passed since the call, even
        /// when the WAIT in progress (sent for an earlier batch) has not returned yet.
        /// </summary>
        public async Task JoinAsync(string marker)
        {
            Volatile.Write(ref _marker, marker);
            var batch = Volatile.Read(ref _batch);
            _wake.Writer.TryWrite(true);
            try
            {
                await batch.Task.WaitAsync(_owner._timeout, _owner._time).ConfigureAwait(false);
            }
            catch (TimeoutException ex) when (!batch.Task.IsCompleted)
            {
                throw new TimeoutException(
                    string.Create(CultureInfo.InvariantCulture, $"No confirmation from the replicas of {_endpoint} within {_owner._timeout.TotalMilliseconds:0} ms."), ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _wake.Writer.TryComplete();
            await _loop.ConfigureAwait(false);
        }

        private async Task RunAsync()
        {
            await foreach (var _ in _wake.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                var batch = Interlocked.Exchange(ref _batch, NewBatch());
                try
                {
                    await ConfirmAsync(Volatile.Read(ref _marker)).ConfigureAwait(false);
                    batch.TrySetResult();
                }
                catch (Exception ex)
                {
                    // Whatever went wrong, these acks are refused as a store failure (503), and the loop lives on for
                    // the next batch: a loop that died would refuse every later ack for this primary.
                    Log.ConfirmationFailed(_owner._logger, _endpoint.ToString() ?? "?", ex.GetType().Name, ex.Message);
                    batch.TrySetException(StoreFailures.IsStoreFailure(ex) ? ex : new RedisException($"Replica confirmation on {_endpoint} failed: {ex.Message}", ex));
                }
            }

            Volatile.Read(ref _batch).TrySetException(new ObjectDisposedException(nameof(ReplicaGroupWait)));
        }

        private async Task ConfirmAsync(string marker)
        {
            // The shared connection routes the written keys here as to a primary; if this connection still sees a
            // replica there (a failover it has not noticed yet), it reads the topology again first.
            var server = _owner._waits.GetServer(_endpoint);
            if (server.IsReplica || !server.IsConnected)
            {
                await _owner.RefreshTopologyAsync().ConfigureAwait(false);
                server = _owner._waits.GetServer(_endpoint);
            }

            var timeoutMs = ((long)_owner._timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            var replicas = _owner._minReplicas.ToString(CultureInfo.InvariantCulture);

            // Pipelined on the one connection to this primary: the WAIT counts from the marker's offset. NoRedirect: a
            // primary that no longer owns the slot answers MOVED, which fails the batch instead of confirming elsewhere.
            var write = server.ExecuteAsync("SET", [marker, "1", "PX", MarkerTtlMs], CommandFlags.NoRedirect);
            var wait = _owner.WaitsForAof
                ? server.ExecuteAsync("WAITAOF", ["1", replicas, timeoutMs], CommandFlags.NoRedirect)
                : server.ExecuteAsync("WAIT", [replicas, timeoutMs], CommandFlags.NoRedirect);
            await Task.WhenAll(write, wait).ConfigureAwait(false);
            var result = await wait.ConfigureAwait(false);

            long confirmed;
            if (_owner.WaitsForAof)
            {
                var counts = (long[])result!;
                confirmed = counts[0] < 1 ? 0 : counts[1];
            }
            else
            {
                confirmed = (long)result;
            }

            if (confirmed < _owner._minReplicas)
            {
                throw new TimeoutException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{confirmed} of {_owner._minReplicas} replica(s) of {_endpoint} confirmed the write within {_owner._timeout.TotalMilliseconds:0} ms."));
            }
        }

        private static TaskCompletionSource NewBatch() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(1006, LogLevel.Warning, "Replicas of {Endpoint} did not confirm writes; acks waiting on them are refused ({Error}: {Message}).")]
        public static partial void ConfirmationFailed(ILogger logger, string endpoint, string error, string message);
    }
}
