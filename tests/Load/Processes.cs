using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>
/// A process the harness started: its output goes to a log file (a full pipe would stall it), and disposing it kills
/// it with its children, so a failed run leaves nothing behind.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    /// <summary>Every process still running, killed when the harness exits, also on Ctrl+C or SIGTERM mid-run.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ChildProcess, bool> Running = new();

    private static int _exitHooked;

    private readonly Process _process;
    private readonly StreamWriter _log;

    private ChildProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
        _process.OutputDataReceived += (_, e) => Write(e.Data);
        _process.ErrorDataReceived += (_, e) => Write(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string LogPath { get; private init; } = "";

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string logPath)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var log = new StreamWriter(logPath) { AutoFlush = true };
        var child = new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}."), log) { LogPath = logPath };
        if (Interlocked.Exchange(ref _exitHooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += KillRunning;
        }

        Running[child] = true;
        return child;
    }

    /// <summary>Resident memory from /proc/&lt;pid&gt;/status (VmRSS), in MB; null once the process is gone.</summary>
    public double? ResidentMegabytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        Running.TryRemove(this, out _);
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static void KillRunning(object? sender, EventArgs e)
    {
        foreach (var child in Running.Keys)
        {
            child.Dispose();
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives while the process is being killed.
            }
        }
    }
}

/// <summary>
/// Samples a process's resident memory every 250 ms while a step runs. Sampling, not a single reading, because the
/// question is whether memory stays bounded while load and backlog grow.
/// </summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private double _max;

    public RssSampler(ChildProcess process) => _loop = SampleAsync(process, _stop.Token);

    public double Max => Volatile.Read(ref _max);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task SampleAsync(ChildProcess process, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            do
            {
                if (process.ResidentMegabytes() is { } rss && rss > _max)
                {
                    Volatile.Write(ref _max, rss);
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // The step is over.
        }
    }
}

/// <summary>Starting the servers the benchmark measures: the relay, a private redis-server, and the baseline servers.</summary>
internal static class Processes
{
    private static readonly string[] RedisLocations = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>The repository root: the folder above this assembly that holds Relay.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Relay.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// A redis-server on a free port with what the README requires for durable acks (appendonly, appendfsync
    /// always), data in <paramref name="folder"/>. Null when redis-server is not installed.
    /// </summary>
    public static async Task<(ChildProcess Process, string Address)?> StartRedisAsync(string folder)
    {
        var binary = RedisLocations.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            return null;
        }

        var port = FreePort();
        var redis = ChildProcess.Start(
            binary,
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", folder, "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            Path.Combine(folder, "redis.log"));
        await WaitAsync(redis, async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        return (redis, $"127.0.0.1:{port}");
    }

    /// <summary>
    /// Writes the relay.yaml the benchmark runs with: the Yousign source routing <c>signature_request.*</c> to every
    /// sink, and a short retry schedule (1s, 2s, 5s, then every 10s, long enough to outlast <paramref name="outage"/>)
    /// so an outage drains within a minute of recovery instead of waiting on production back-offs.
    /// </summary>
    public static string WriteRelayConfig(string folder, string storeConnection, IReadOnlyList<FakeTarget> sinks, TimeSpan outage)
    {
        var tenSecondSteps = (int)Math.Ceiling(outage.TotalSeconds / 10) + 6;
        var schedule = string.Join(", ", ["1s", "2s", "5s", .. Enumerable.Repeat("10s", tenSecondSteps)]);
        var yaml = new System.Text.StringBuilder()
            .AppendLine("# Generated by the load harness (tests/Load) for one benchmark run.")
            .AppendLine("store:")
            .AppendLine(CultureInfo.InvariantCulture, $"  connection: \"{storeConnection}\"")
            .AppendLine(CultureInfo.InvariantCulture, $"  dataDir: \"{Path.Combine(folder, "data")}\"")
            .AppendLine("  retention: 1h")
            .AppendLine("  dedupeWindow: 1h")
            .AppendLine("sources:")
            .AppendLine("  yousign:")
            .AppendLine("    kind: yousign")
            .AppendLine(CultureInfo.InvariantCulture, $"    path: {YousignCallbacks.Path}")
            .AppendLine(CultureInfo.InvariantCulture, $"    secret: {YousignCallbacks.Secret}")
            .AppendLine("    routes:");
        foreach (var sink in sinks)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"      - target: {sink.Name}").AppendLine("        events: [\"signature_request.*\"]");
        }

        yaml.AppendLine("targets:");
        foreach (var sink in sinks)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  {sink.Name}:")
                .AppendLine(CultureInfo.InvariantCulture, $"    url: \"{new Uri(sink.Url, "/webhooks")}\"")
                .AppendLine(CultureInfo.InvariantCulture, $"    retry: {{ schedule: [{schedule}], jitter: 0.2 }}");
        }

        var path = Path.Combine(folder, "relay.yaml");
        File.WriteAllText(path, yaml.ToString());
        return path;
    }

    /// <summary>The built relay (Release) as its own process, as it runs in production; returns once /readyz says ready.</summary>
    public static async Task<(ChildProcess Process, Uri Url)> StartRelayAsync(string relayDll, string configPath, string logPath)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort()}");
        var relay = ChildProcess.Start("dotnet", [relayDll, "--config", configPath, "--urls", url.ToString().TrimEnd('/')], logPath);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await WaitAsync(relay, async () => (await client.GetAsync(new Uri(url, "/readyz")).ConfigureAwait(false)).IsSuccessStatusCode).ConfigureAwait(false);
        return (relay, url);
    }

    /// <summary>A baseline server (this assembly's hidden <c>baseline</c> command) in its own process, like the relay.</summary>
    public static async Task<(ChildProcess Process, Uri Url)> StartBaselineAsync(string kind, Uri? upstream, string logPath)
    {
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        List<string> arguments = [typeof(Processes).Assembly.Location, "baseline", kind, "--port", port.ToString(CultureInfo.InvariantCulture)];
        if (upstream is not null)
        {
            arguments.AddRange(["--upstream", upstream.ToString()]);
        }

        var baseline = ChildProcess.Start("dotnet", arguments, logPath);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await WaitAsync(baseline, async () => (await client.GetAsync(url).ConfigureAwait(false)).IsSuccessStatusCode).ConfigureAwait(false);
        return (baseline, url);
    }

    /// <summary>Polls <paramref name="ready"/> for up to 60 s; a process that exits meanwhile fails at once, pointing at its log.</summary>
    private static async Task WaitAsync(ChildProcess process, Func<Task<bool>> ready)
    {
        var deadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Process exited during start-up; see {process.LogPath}.");
            }

            try
            {
                if (await ready().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        process.Dispose();
        throw new TimeoutException($"Process did not become ready within 60 s; see {process.LogPath}.");
    }
}
