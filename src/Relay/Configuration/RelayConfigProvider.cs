using Microsoft.Extensions.Primitives;
using Relay.Sources;

namespace Relay.Configuration;

/// <summary>
/// Holds the current <see cref="RelaySnapshot"/> and replaces it when relay.yaml changes on disk.
/// A valid file replaces the snapshot atomically; an invalid one is logged and the last good snapshot stays
/// (YARP's ProxyConfigManager does the same).
/// </summary>
internal sealed partial class RelayConfigProvider : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly string _baseDirectory;
    private readonly SourceKinds _kinds;
    private readonly ILogger<RelayConfigProvider> _logger;
    private readonly IDisposable? _reloadRegistration;
    private RelaySnapshot _current;
    private CancellationTokenSource _changed = new();

    public RelayConfigProvider(RelaySnapshot initial, IConfiguration configuration, RelayConfigFile file, SourceKinds kinds, ILogger<RelayConfigProvider> logger)
    {
        _current = initial;
        _configuration = configuration;
        _baseDirectory = file.Directory;
        _kinds = kinds;
        _logger = logger;
        _reloadRegistration = Microsoft.Extensions.Primitives.ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    public RelaySnapshot Current => Volatile.Read(ref _current);

    /// <summary>The errors of the last reload that was rejected; empty when the file on disk is the one in force.</summary>
    public IReadOnlyList<string> LastErrors { get; private set; } = [];

    /// <summary>Fires after a new snapshot is in force.</summary>
    public IChangeToken ChangeToken => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    /// <summary>
    /// Applies the snapshot in force, then every snapshot that replaces it, one at a time, until stopped: how a stage
    /// keeps its running parts (dispatchers, connectors) in step with the config.
    /// </summary>
    public async Task FollowAsync(Func<RelaySnapshot, CancellationToken, Task> apply, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Take the change token before reading the snapshot, so a reload in between is not missed.
            var changed = ChangeToken;
            await apply(Current, stoppingToken).ConfigureAwait(false);
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (changed.RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), signal))
            using (stoppingToken.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), signal))
            {
                await signal.Task.ConfigureAwait(false);
            }
        }
    }

    public void Dispose()
    {
        _reloadRegistration?.Dispose();
        _changed.Dispose();
    }

    private void Reload()
    {
        var (snapshot, errors) = RelayConfigLoader.Load(_configuration, _baseDirectory, _kinds);
        if (snapshot is null)
        {
            // Logged before publishing: whoever sees LastErrors change can rely on the log line being written.
            Log.ReloadRejected(_logger, errors.Count, string.Join(Environment.NewLine, errors));
            LastErrors = errors;
            return;
        }

        LastErrors = [];
        Interlocked.Exchange(ref _current, snapshot);
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        Log.Reloaded(_logger, snapshot.Config.Sources.Count, snapshot.Config.Targets.Count);
        previous.Cancel();
        previous.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1101, LogLevel.Information, "Configuration reloaded: {Sources} sources, {Targets} targets.")]
        public static partial void Reloaded(ILogger logger, int sources, int targets);

        [LoggerMessage(1102, LogLevel.Error, "Configuration change rejected ({Count} errors); the previous configuration stays in force:\n{Errors}")]
        public static partial void ReloadRejected(ILogger logger, int count, string errors);
    }
}

/// <summary>Where relay.yaml was read from: relative paths inside it resolve against <see cref="Directory"/>.</summary>
internal sealed record RelayConfigFile(string Path)
{
    /// <summary>The file read when none is named: the one the container image ships, with no fallback secrets.</summary>
    public static readonly string DefaultPath = System.IO.Path.Combine("config", "relay.yaml");

    /// <summary>The file preferred in Development, whose <c>${NAME:-value}</c> fallbacks are public development secrets.</summary>
    public static readonly string DevelopmentPath = System.IO.Path.Combine("config", "relay.dev.yaml");

    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    /// <summary>
    /// The file to read: the one named by <c>--config</c>, else by <c>RELAY_CONFIG</c>, else <c>config/relay.yaml</c>, except
    /// in Development (which <c>dotnet run</c> sets through launchSettings.json), where <c>config/relay.dev.yaml</c> wins
    /// when it exists. Only Development picks the file with known secrets, and the image does not carry it.
    /// </summary>
    /// <param name="workingDirectory">What relative paths are resolved against: the process's current directory.</param>
    public static RelayConfigFile Choose(string? argument, string? variable, bool isDevelopment, string workingDirectory)
    {
        if ((argument ?? variable) is { Length: > 0 } named)
        {
            return new(System.IO.Path.GetFullPath(named, workingDirectory));
        }

        var development = System.IO.Path.GetFullPath(DevelopmentPath, workingDirectory);
        return new(isDevelopment && File.Exists(development) ? development : System.IO.Path.GetFullPath(DefaultPath, workingDirectory));
    }
}
