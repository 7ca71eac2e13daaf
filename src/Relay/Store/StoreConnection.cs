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
    private AofGroupCommit? _groupCommit;
    private ReplicaGroupWait? _replicaWait;
    private EmbeddedCheckpoints? _checkpoints;

    /// <summary>The store settings read at start-up; a reload that changes them needs a restart.</summary>
    public StoreConfig Config { get; } = configProvider.Current.Config.Store;

    public StoreKeys Keys { get; } = new(configProvider.Current.Config.Store.Prefix);

    /// <summary>The shared connection's database; before start-up this fails like an unreachable store does.</summary>
    public IDatabase Database => (_multiplexer ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The store is not started.", null, CommandStatus.Unknown)).GetDatabase();

    public bool IsConnected => _multiplexer?.IsConnected ?? false;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ConfigurationOptions options;
        if (Config.IsEmbedded)
        {
            _garnet = EmbeddedGarnet.Start(Config.DataDir, loggerFactory);
            // Admin commands (SAVE for checkpoints) are safe here: the embedded server listens on loopback only.
            options = new ConfigurationOptions { EndPoints = { _garnet.EndPoint }, AllowAdmin = true };
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
            _checkpoints = new EmbeddedCheckpoints(_multiplexer.GetServer(_garnet.EndPoint), time, _logger);
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
    }

    /// <summary>
    /// Completes when the writes made so far survive a crash of this process, and of the store's process; with
    /// <c>durability: replicas</c>, also the loss of the Redis primary that holds <paramref name="written"/> (one key
    /// per slot written: each primary's replicas confirm its own writes). Throws a store failure when that cannot be
    /// confirmed.
    /// </summary>
    public Task WaitDurableAsync(params IReadOnlyList<RedisKey> written) =>
        _groupCommit?.WaitForCommitAsync() ?? _replicaWait?.WaitAsync(written) ?? Task.CompletedTask;

    /// <summary>Runs after the other hosted services stopped (it started first): a last checkpoint of the embedded store.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_checkpoints is not null)
        {
            await _checkpoints.DisposeAsync().ConfigureAwait(false);
            _checkpoints = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_checkpoints is not null)
        {
            await _checkpoints.DisposeAsync().ConfigureAwait(false);
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

        [LoggerMessage(1002, LogLevel.Warning, "Redis has appendonly={AppendOnly}, appendfsync={AppendFsync}: acknowledged events can be lost if Redis crashes. Set appendonly yes and appendfsync always.")]
        public static partial void RedisNotDurable(ILogger logger, string appendOnly, string appendFsync);

        [LoggerMessage(1005, LogLevel.Information, "Durability replicas: every ack waits until {MinReplicas} replica(s) confirm its writes ({Command}, timeout {TimeoutMs} ms).")]
        public static partial void WaitingForReplicas(ILogger logger, int minReplicas, string command, long timeoutMs);
    }
}
