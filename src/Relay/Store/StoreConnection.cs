using Relay.Configuration;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Owns the one shared <see cref="ConnectionMultiplexer"/> and, in embedded mode, the Garnet server behind it.
/// Started before the web server, so no request ever sees a store that is not there yet.
/// </summary>
internal sealed partial class StoreConnection(RelayConfigProvider configProvider, TimeProvider time, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<StoreConnection>();
    private EmbeddedGarnet? _garnet;
    private ConnectionMultiplexer? _multiplexer;
    private ConnectionMultiplexer? _checkpointConnection;
    private AofGroupCommit? _groupCommit;
    private ReplicaGroupWait? _replicaWait;
    private EmbeddedCheckpoints? _checkpoints;
    private EmbeddedMemory? _memory;
    private readonly CancellationTokenSource _stopping = new();
    private Task _layoutWatch = Task.CompletedTask;

    /// <summary>How often a replica checks that the store's partition layout is still the one it runs with.</summary>
    private static readonly TimeSpan LayoutCheckInterval = TimeSpan.FromSeconds(10);

    /// <summary>The store settings read at start-up; a reload that changes them needs a restart.</summary>
    public StoreConfig Config { get; } = configProvider.Current.Config.Store;

    public StoreKeys Keys { get; } = new(configProvider.Current.Config.Store.Prefix);

    /// <summary>The shared connection's database; before start-up this fails like an unreachable store does.</summary>
    public IDatabase Database => (_multiplexer ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The store is not started.", null, CommandStatus.Unknown)).GetDatabase();

    public bool IsConnected => _multiplexer?.IsConnected ?? false;

    /// <summary>The partitions new events go to and those readers cover, as the store records them (read at start-up).</summary>
    public StoreLayout Layout { get; private set; } = new(configProvider.Current.Config.Store.Partitions, configProvider.Current.Config.Store.Partitions);

    public Task StartAsync(CancellationToken cancellationToken) => ConnectAsync(checkLayout: true);

    /// <param name="checkLayout">
    /// False only for the partition migration, which connects precisely because the configured count differs from the
    /// store's; a serving relay always checks.
    /// </param>
    public async Task ConnectAsync(bool checkLayout)
    {
        ConfigurationOptions options;
        if (Config.IsEmbedded)
        {
            _garnet = EmbeddedGarnet.Start(Config.DataDir, Config.EmbeddedMemory, loggerFactory);
            // Admin commands (SAVE for checkpoints) are safe here: the embedded server listens on loopback only.
            options = new ConfigurationOptions { EndPoints = { _garnet.EndPoint }, AllowAdmin = true, Password = _garnet.Password };
            Log.EmbeddedStarted(_logger, Config.DataDir, _garnet.EndPoint.Port);
        }
        else
        {
            options = ConfigurationOptions.Parse(Config.Connection);
        }

        // Fail fast while disconnected: ingress must answer 503 at once, not queue the vendor's request behind a reconnect.
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AsyncTimeout = Math.Min(options.AsyncTimeout, 3000);
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 3000);
        options.ClientName ??= "relay";
        _multiplexer = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);

        if (_garnet is not null)
        {
            _groupCommit = new AofGroupCommit(_multiplexer.GetDatabase());
            // SAVE answers when the checkpoint is on disk, seconds for a large store; on the shared connection every
            // command behind it would wait that long (measured: 503s and a dropped connection at 800,000 events).
            var checkpointOptions = options.Clone();
            checkpointOptions.ClientName = "relay-checkpoints";
            checkpointOptions.AsyncTimeout = (int)EmbeddedCheckpoints.Timeout.TotalMilliseconds;
            _checkpointConnection = await ConnectionMultiplexer.ConnectAsync(checkpointOptions).ConfigureAwait(false);
            _checkpoints = new EmbeddedCheckpoints(_checkpointConnection.GetServer(_garnet.EndPoint), time, _logger);
            _memory = new EmbeddedMemory(_multiplexer.GetServer(_garnet.EndPoint), time, _logger);
        }
        else
        {
            await WarnIfNotDurableAsync(options).ConfigureAwait(false);
            if (Config.Durability == StoreDurability.Replicas)
            {
                _replicaWait = await ReplicaGroupWait.StartAsync(options, _multiplexer, Config.MinReplicas, Config.ReplicaTimeout, time, _logger).ConfigureAwait(false);
                Log.WaitingForReplicas(_logger, Config.MinReplicas, _replicaWait.WaitsForAof ? "WAITAOF" : "WAIT", (long)Config.ReplicaTimeout.TotalMilliseconds);
            }
        }

        if (checkLayout)
        {
            await CheckLayoutAsync().ConfigureAwait(false);
            _layoutWatch = WatchLayoutAsync(_stopping.Token);
        }
    }

    private async Task CheckLayoutAsync()
    {
        try
        {
            Layout = await StoreLayout.LoadAsync(Database, Keys, Config.Partitions).ConfigureAwait(false);
        }
        catch (StoreLayoutException ex)
        {
            Log.LayoutRefused(_logger, ex.Message);
            throw;
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            // Redis is down at start: serve (ingress answers 503 meanwhile) and check the layout once it is back.
            LayoutProblem = "the store's partition layout is not checked yet: the store could not be reached";
        }
    }

    /// <summary>
    /// Completes when the writes made so far survive a crash of this process, and of the store's process; with
    /// <c>durability: replicas</c>, also the loss of the Redis primary that holds <paramref name="written"/> (one key
    /// per slot written: each primary's replicas confirm its own writes). Throws a store failure when that cannot be
    /// confirmed.
    /// </summary>
    public Task WaitDurableAsync(params IReadOnlyList<RedisKey> written) =>
        _groupCommit?.WaitForCommitAsync() ?? _replicaWait?.WaitAsync(written) ?? Task.CompletedTask;

    /// <summary>
    /// Set while this replica must not accept events: its partition count disagrees with the store's (a migration ran
    /// while it was up), or the store could not be asked yet. Ingress answers 503 and readiness is degraded meanwhile.
    /// </summary>
    public string? LayoutProblem { get; private set; }

    /// <summary>
    /// Set while the embedded store is full (<see cref="EmbeddedMemory"/>): new events are refused with 503 meanwhile,
    /// and readiness is degraded. Always null with Redis, whose memory is its own to manage.
    /// </summary>
    public string? FullProblem => _memory?.Problem;

    /// <summary>Takes a checkpoint of the embedded store now, on its own connection; completes when it is on disk.</summary>
    public Task CheckpointAsync() => _checkpoints?.CheckpointAsync() ?? Task.CompletedTask;

    /// <summary>Runs after the other hosted services stopped (it started first): a last checkpoint of the embedded store.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _layoutWatch.ConfigureAwait(false);
        if (_checkpoints is not null)
        {
            await _checkpoints.DisposeAsync().ConfigureAwait(false);
            _checkpoints = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _layoutWatch.ConfigureAwait(false);
        }

        _stopping.Dispose();
        if (_memory is not null)
        {
            await _memory.DisposeAsync().ConfigureAwait(false);
        }

        if (_checkpoints is not null)
        {
            await _checkpoints.DisposeAsync().ConfigureAwait(false);
        }

        if (_checkpointConnection is not null)
        {
            await _checkpointConnection.CloseAsync().ConfigureAwait(false);
            _checkpointConnection.Dispose();
        }

        if (_groupCommit is not null)
        {
            await _groupCommit.DisposeAsync().ConfigureAwait(false);
        }

        if (_replicaWait is not null)
        {
            await _replicaWait.DisposeAsync().ConfigureAwait(false);
        }

        if (_multiplexer is not null)
        {
            await _multiplexer.CloseAsync().ConfigureAwait(false);
            _multiplexer.Dispose();
        }

        _garnet?.Dispose();
    }

    /// <summary>
    /// Re-reads the store's layout now and then, so that replicas that disagree with it (started with another count, or
    /// left running through a migration) stop accepting events instead of breaking dedupe.
    /// </summary>
    private async Task WatchLayoutAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(LayoutCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    var recorded = LayoutProblem is null
                        ? await StoreLayout.ReadAsync(Database, Keys).ConfigureAwait(false)
                        : await StoreLayout.LoadAsync(Database, Keys, Config.Partitions).ConfigureAwait(false);
                    if (recorded.Partitions != Layout.Partitions)
                    {
                        throw new StoreLayoutException(
                            $"the store now has {recorded.Partitions} partitions (a migration ran) but this replica runs with {Layout.Partitions}: restart it with store.partitions: {recorded.Partitions}.");
                    }

                    Layout = recorded;
                    LayoutProblem = null;
                }
                catch (StoreLayoutException ex)
                {
                    if (LayoutProblem != ex.Message)
                    {
                        Log.LayoutRefused(_logger, ex.Message);
                    }

                    LayoutProblem = ex.Message;
                }
                catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
                {
                    // Checked again at the next tick.
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    // With Redis, an ack is durable only if the server fsyncs its AOF before replying (appendonly yes,
    // appendfsync always). Reading that needs admin commands, so a short-lived admin connection asks once;
    // the shared multiplexer stays without admin rights.
    private async Task WarnIfNotDurableAsync(ConfigurationOptions options)
    {
        var admin = options.Clone();
        admin.AllowAdmin = true;
        admin.ClientName = "relay-startup-check";
        try
        {
            using var connection = await ConnectionMultiplexer.ConnectAsync(admin).ConfigureAwait(false);
            var server = connection.GetServers().FirstOrDefault(s => s.IsConnected && !s.IsReplica);
            if (server is null)
            {
                return;
            }

            var settings = (await server.ConfigGetAsync("append*").ConfigureAwait(false)).ToDictionary(p => p.Key, p => p.Value);
            var appendOnly = settings.GetValueOrDefault("appendonly") ?? "?";
            var appendFsync = settings.GetValueOrDefault("appendfsync") ?? "?";
            if (appendOnly != "yes" || appendFsync != "always")
            {
                Log.RedisNotDurable(_logger, appendOnly, appendFsync);
            }
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            // Managed services often disable CONFIG (a RedisServerException), and the server may be unreachable at
            // start-up: either way this is only a warning, and the README states the settings that are needed.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Information, "Embedded store started: data in {DataDir}, port {Port}.")]
        public static partial void EmbeddedStarted(ILogger logger, string dataDir, int port);

        [LoggerMessage(1005, LogLevel.Critical, "Store layout: {Problem}")]
        public static partial void LayoutRefused(ILogger logger, string problem);

        [LoggerMessage(1002, LogLevel.Warning, "Redis has appendonly={AppendOnly}, appendfsync={AppendFsync}: acknowledged events can be lost if Redis crashes. Set appendonly yes and appendfsync always.")]
        public static partial void RedisNotDurable(ILogger logger, string appendOnly, string appendFsync);

        [LoggerMessage(1005, LogLevel.Information, "Durability replicas: every ack waits until {MinReplicas} replica(s) confirm its writes ({Command}, timeout {TimeoutMs} ms).")]
        public static partial void WaitingForReplicas(ILogger logger, int minReplicas, string command, long timeoutMs);
    }
}
