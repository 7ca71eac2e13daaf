using System.Globalization;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// A private redis-server with what the README requires for durable acks (appendonly yes, appendfsync always), its
/// data and its log (redis.log) in its own folder. It can be killed and started again on the same port and data, to
/// take the store away under a running relay.
/// </summary>
internal sealed partial class RedisServerProcess : IDisposable
{
    private static readonly string[] Locations = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

    private readonly string _binary;
    private readonly string _folder;
    private readonly IReadOnlyList<string> _arguments;
    private ChildProcess? _process;

    private RedisServerProcess(string binary, string folder, int port, IReadOnlyList<string> arguments)
    {
        _binary = binary;
        _folder = folder;
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>The folder holding its data and redis.log.</summary>
    public string Folder => _folder;

    /// <summary>True when redis-server is installed where this class looks for it.</summary>
    public static bool IsInstalled => Locations.Any(File.Exists);

    /// <summary>The redis-cli next to redis-server.</summary>
    public static string Cli => Path.Combine(Path.GetDirectoryName(Locations.FirstOrDefault(File.Exists) ?? "/usr/bin/redis-server")!, "redis-cli");

    /// <summary>
    /// Starts redis-server on a free port (or <paramref name="port"/>) with its data in <paramref name="folder"/> (by
    /// default a new temporary folder) and <paramref name="arguments"/> after the defaults (e.g. <c>--replicaof</c>,
    /// <c>--cluster-enabled yes</c>); null when redis-server is not installed.
    /// </summary>
    public static async Task<RedisServerProcess?> TryStartAsync(string? folder = null, IReadOnlyList<string>? arguments = null, int port = 0)
    {
        if (Locations.FirstOrDefault(File.Exists) is not { } binary)
        {
            return null;
        }

        var redis = new RedisServerProcess(
            binary, folder ?? Directory.CreateTempSubdirectory("relay-redis-").FullName, port == 0 ? LoopbackServer.FreePort() : port, arguments ?? []);
        await redis.RestartAsync().ConfigureAwait(false);
        return redis;
    }

    /// <summary>Starts redis-server (again, after <see cref="Kill"/>) on the same port and data; returns once it accepts connections.</summary>
    public async Task RestartAsync()
    {
        _process?.Dispose();
        _process = ChildProcess.Start(
            "redis-server",
            _binary,
            ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _folder, "--appendonly", "yes", "--appendfsync", "always", "--save", "", .. _arguments],
            Path.Combine(_folder, "redis.log"));
        await _process.WaitForPortAsync(Port).ConfigureAwait(false);
    }

    /// <summary>Resident memory of redis-server in MB (VmRSS); null when it is not running.</summary>
    public double? ResidentMegabytes() => _process?.ResidentMegabytes();

    /// <summary>CPU time redis-server has used so far (user + system); null when it is not running.</summary>
    public TimeSpan? CpuTime() => _process?.CpuTime();

    /// <summary>SIGKILL: the store vanishes mid-conversation.</summary>
    public void Kill() => _process?.Kill();

    /// <summary>SIGSTOP: the server freezes with its connections open (a hung or partitioned node).</summary>
    public void Pause() => _process?.Signal("STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => _process?.Signal("CONT");

    /// <summary>True while the process runs (not killed, not exited).</summary>
    public bool IsRunning => _process is { HasExited: false };

    public void Dispose() => _process?.Dispose();
}
