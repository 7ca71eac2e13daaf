using System.Diagnostics;
using System.Globalization;
using System.Text;
using Relay.Tests.Infrastructure;

namespace Relay.Faults;

/// <summary>
/// One scenario's moving parts in its own folder: the ledger, the fake targets (real Kestrel servers that book every
/// delivery they accept), the relays it starts, and whatever else it registers (redis-servers, a cluster). Disposing it
/// kills every process it started.
/// </summary>
internal sealed class Rig : IAsyncDisposable
{
    /// <summary>A path token for the form source (AlphaTrust kind) the bad-input scenario aims at.</summary>
    public const string FormToken = "fault-form-token-0123456789abcdef";

    /// <summary>Delay before each retry: short, and long enough in total to outlast every fault a scenario injects.</summary>
    private static readonly string RetrySchedule =
        "[" + string.Join(", ", ["250ms", "500ms", "1s", .. Enumerable.Repeat("2s", 60)]) + "]";

    private readonly List<IDisposable> _owned = [];
    private readonly List<IAsyncDisposable> _ownedAsync = [];
    private readonly List<FakeTarget> _targets = [];
    private readonly long _started = Stopwatch.GetTimestamp();

    private Rig(FaultSettings settings, string name, string folder, FaultLedger ledger)
    {
        Settings = settings;
        Name = name;
        Folder = folder;
        Ledger = ledger;
    }

    public FaultSettings Settings { get; }

    public string Name { get; }

    public string Folder { get; }

    public FaultLedger Ledger { get; }

    public IReadOnlyList<FakeTarget> Targets => _targets;

    /// <summary>Seconds since the rig started.</summary>
    public double Elapsed => Stopwatch.GetElapsedTime(_started).TotalSeconds;

    /// <summary>Starts the targets <paramref name="targets"/> names, each booking its accepted deliveries in a new ledger.</summary>
    public static async Task<Rig> StartAsync(FaultSettings settings, string name, params string[] targets)
    {
        var folder = Directory.CreateDirectory(Path.Combine(settings.Work, name)).FullName;
        var ledger = new FaultLedger(targets);
        var rig = new Rig(settings, name, folder, ledger);
        try
        {
            foreach (var target in targets)
            {
                rig._targets.Add(await FakeTarget.StartAsync(target, 0, arrival =>
                    ledger.Arrived(target, arrival.Header(FaultLedger.EventHeader), arrival.Header("webhook-id"), arrival.Timestamp)).ConfigureAwait(false));
            }

            return rig;
        }
        catch
        {
            await rig.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public FakeTarget Target(string name) => _targets.Single(t => t.Name == name);

    /// <summary>Every target answers 200 after <paramref name="delay"/>: deliveries stay in flight that long.</summary>
    public void AnswerAfter(TimeSpan delay)
    {
        foreach (var target in _targets)
        {
            target.Respond = async (context, _) =>
            {
                await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
                context.Response.StatusCode = 200;
            };
        }
    }

    /// <summary>Prints a line of the scenario's story, stamped with seconds since the rig started.</summary>
    public void Say(string line) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{Name} {Elapsed,6:0.0}s] {line}"));

    /// <summary>Keeps <paramref name="process"/> (a redis-server, a relay) to be killed with the rig.</summary>
    public T Own<T>(T process)
        where T : IDisposable
    {
        _owned.Add(process);
        return process;
    }

    public T OwnAsync<T>(T resource)
        where T : IAsyncDisposable
    {
        _ownedAsync.Add(resource);
        return resource;
    }

    /// <summary>Starts a redis-server of the rig in folder <paramref name="name"/> (appendonly yes, appendfsync always).</summary>
    public async Task<RedisServerProcess> StartRedisAsync(string name, IReadOnlyList<string>? arguments = null, int port = 0) =>
        Own(await RedisServerProcess.TryStartAsync(Directory.CreateDirectory(Path.Combine(Folder, name)).FullName, arguments, port).ConfigureAwait(false)
            ?? throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server)."));

    /// <summary>
    /// Writes the relay.yaml of this rig: the Yousign source routing every event to every target, and, with
    /// <paramref name="forms"/>, a form source (AlphaTrust kind) routed nowhere; targets with a 1 s timeout and the
    /// short retry schedule. <paramref name="store"/> is the <c>store:</c> section's body.
    /// </summary>
    public string WriteConfig(string store, bool forms = false)
    {
        var yaml = new StringBuilder()
            .AppendLine("# Written by the fault suite (tests/Faults).")
            .AppendLine("store:")
            .Append(store)
            .AppendLine("sources:")
            .AppendLine("  yousign:")
            .AppendLine("    kind: yousign")
            .AppendLine(CultureInfo.InvariantCulture, $"    path: {Vendor.Path}")
            .AppendLine(CultureInfo.InvariantCulture, $"    secret: {Vendor.Secret}")
            .AppendLine(CultureInfo.InvariantCulture, $"    routes: [{string.Join(", ", _targets.Select(t => $"{{ target: {t.Name} }}"))}]");
        if (forms)
        {
            yaml.AppendLine("  forms:")
                .AppendLine("    kind: alphatrust")
                .AppendLine("    path: \"/hooks/forms/{token}\"")
                .AppendLine(CultureInfo.InvariantCulture, $"    token: {FormToken}");
        }

        yaml.AppendLine("targets:");
        foreach (var target in _targets)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  {target.Name}:")
                .AppendLine(CultureInfo.InvariantCulture, $"    url: \"{new Uri(target.Url, "/webhooks")}\"")
                .AppendLine("    timeout: 1s")
                .AppendLine(CultureInfo.InvariantCulture, $"    retry: {{ schedule: {RetrySchedule}, jitter: 0.2 }}");
        }

        var path = Path.Combine(Folder, "relay.yaml");
        File.WriteAllText(path, yaml.ToString());
        return path;
    }

    /// <summary>The <c>store:</c> body for the embedded store, its data in this rig's folder.</summary>
    public string EmbeddedStore() => Store("\"\"") + $"  dataDir: \"{Path.Combine(Folder, "data")}\"\n";

    /// <summary>The <c>store:</c> body for Redis at <paramref name="connection"/>, with <paramref name="durability"/>.</summary>
    public static string RedisStore(string connection, string durability = "fsync") =>
        Store($"\"{connection}\"") + $"  durability: {durability}\n  minReplicas: 1\n  replicaTimeout: 1s\n";

    /// <summary>Starts a relay as its own process on <paramref name="port"/> (0: a free one), its log in <c>&lt;name&gt;.log</c>.</summary>
    public async Task<RelayProcess> StartRelayAsync(string config, string name = "relay", int port = 0) =>
        Own(await RelayProcess.StartAsync(config, Settings.RelayDll, Path.Combine(Folder, name + ".log"), port).ConfigureAwait(false));

    /// <summary>
    /// Waits for the acked events to reach the targets (see <see cref="FaultLedger.DrainAsync"/>), asking the relay at
    /// <paramref name="relay"/> for its queue depths (sampled every 5 s) to tell lost events from late ones.
    /// </summary>
    public async Task<TimeSpan> DrainAsync(Uri relay)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await Ledger.DrainAsync(FaultSettings.DrainLimit, FaultSettings.DrainStall, async () =>
        {
            try
            {
                var counters = await Relay.Load.RelayCounters.ReadAsync(client, relay).ConfigureAwait(false);
                return counters.Targets.Count > 0 && counters.Targets.Values.All(t => t.Pending == 0);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }).ConfigureAwait(false);
    }

    /// <summary>Where the rig's relay <paramref name="name"/> writes its log.</summary>
    public string LogOf(string name = "relay") => Path.Combine(Folder, name + ".log");

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_owned))
        {
            process.Dispose();
        }

        foreach (var resource in Enumerable.Reverse(_ownedAsync))
        {
            await resource.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var target in _targets)
        {
            await target.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Store(string connection) =>
        $"  connection: {connection}\n  partitions: 16\n  prefix: faults\n  retention: 1h\n  dedupeWindow: 1h\n";
}
