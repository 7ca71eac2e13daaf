using System.Net;
using System.Net.Sockets;
using Garnet;
using Relay.Configuration;

namespace Relay.Store;

/// <summary>
/// The zero-setup store: Microsoft.Garnet in-process, on a free loopback port, data under <c>store.dataDir</c>.
/// Flags matter here (measured on Debian 12, Garnet 2.2.8):
/// <list type="bullet">
/// <item><c>--lua-transaction-mode true</c>: Garnet runs the sessions of different connections in parallel, and
/// without the mode scripts from two connections interleave and lose updates (EmbeddedScriptAtomicityTests). The
/// relay's scripts all go over one connection, which would serialise them, but the expired-key scan deletes from a
/// session of its own, checkpoints run on a second connection, and only a transaction is kept out of a checkpoint's
/// cut (it holds a checkpoint version while it runs). Measured cost,
/// back to back in the load benchmark: 7 to 13% of the embedded ingest maximum, within the noise end to end.</item>
/// <item><c>--device-type RandomAccess</c>: the native device needs libaio, absent on Debian 12.</item>
/// <item><c>--aof --recover</c> with <c>--aof-commit-freq -1</c>: we commit the AOF ourselves, in groups
/// (<see cref="AofGroupCommit"/>), because <c>--aof-commit-wait</c> makes scripts crawl (~74/s).</item>
/// <item><c>--memory</c> from <c>store.embedded.memory</c> (1 GB by default) in 4 MB pages: the ceiling for records and
/// their objects. Garnet 2.2 fails the process (<c>Environment.FailFast</c>) when it writes pages to disk while an index
/// or queue on them changes (seen at ~100,000 events with 128 MB), so Relay keeps every record in memory:
/// <see cref="EmbeddedMemory"/> refuses new events before the ceiling is reached.</item>
/// <item><c>--expired-key-deletion-scan-freq</c>: without it events past <c>store.retention</c> expire only when read,
/// and keep their memory for ever (measured: 85 MB of expired hashes still held after 20 s; 0 with the scan).</item>
/// <item><c>--storage-tier</c> with <c>--logdir</c>: records that outgrow <c>--memory</c> spill to disk. Without it Garnet is
/// a cache and evicts the oldest records, i.e. acked events waiting in a backlog (measured: 62k of 120k 2 KB hashes gone).
/// Relay stops taking events before that point; the spill is the last line of defence, not a mode it runs in.</item>
/// <item><c>--aof-segment-size</c> small: a checkpoint frees the AOF only in whole segments (<see cref="EmbeddedCheckpoints"/>).</item>
/// <item><c>--auth Password</c> with a random password made at each start and kept only in this process: any other
/// local process could otherwise read event bodies, or queue forged events that Relay would sign and deliver.</item>
/// </list>
/// </summary>
internal sealed class EmbeddedGarnet : IDisposable
{
    /// <summary>AOF segment size: a checkpoint deletes only the whole segments it covers.</summary>
    public const string SegmentSize = "16m";

    /// <summary>How often Garnet deletes expired keys, in seconds.</summary>
    private const string ExpiredKeyScanSeconds = "60";

    private readonly GarnetServer _server;

    private EmbeddedGarnet(GarnetServer server, IPEndPoint endpoint, string password)
    {
        _server = server;
        EndPoint = endpoint;
        Password = password;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The password this start of the store requires; never written anywhere.</summary>
    public string Password { get; }

    /// <param name="memory">Bytes of records and objects the store keeps in memory (<c>store.embedded.memory</c>).</param>
    public static EmbeddedGarnet Start(string dataDir, long memory, ILoggerFactory loggerFactory)
    {
        Directory.CreateDirectory(dataDir);
        var port = FreeLoopbackPort();
        var password = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string[] args =
        [
            "--auth", "Password", "--password", password,
            "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lua", "true", "--lua-transaction-mode", "true",
            "--device-type", "RandomAccess",
            "--checkpointdir", dataDir,
            "--storage-tier", "true", "--logdir", Path.Combine(dataDir, "log"),
            "--aof", "--recover", "--aof-commit-freq", "-1",
            "--memory", ByteSizes.Format(memory), "--page", "4m", "--index", "16m", "--aof-memory", "64m", "--aof-page-size", "8m",
            "--expired-key-deletion-scan-freq", ExpiredKeyScanSeconds,
            "--aof-segment-size", SegmentSize,
        ];
        // Garnet writes a banner straight to the console and logs its whole configuration at Information;
        // neither belongs in Relay's output, so the banner is discarded and only its warnings are forwarded.
        var console = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            var server = new GarnetServer(args, new WarningsOnlyLoggerFactory(loggerFactory));
            server.Start();
            return new EmbeddedGarnet(server, new IPEndPoint(IPAddress.Loopback, port), password);
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    public void Dispose()
    {
        try
        {
            _server.Dispose();
        }
        catch (ObjectDisposedException)
        {
            // Garnet 2.2.8 can throw from its epoch table when several servers share a process (tests do).
            // Every acked write is already in the committed AOF, so there is nothing left to lose here.
        }
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private sealed class WarningsOnlyLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new WarningsOnlyLogger(inner.CreateLogger(categoryName));

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        // The host owns the inner factory.
        public void Dispose()
        {
        }
    }

    private sealed class WarningsOnlyLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
