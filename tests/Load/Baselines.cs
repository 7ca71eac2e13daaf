using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.Tests.Infrastructure;
using Yarp.ReverseProxy.Configuration;

namespace Relay.Load;

/// <summary>
/// The two servers the relay is measured against, each run as its own process (like the relay) by the hidden
/// <c>baseline</c> command: bare Kestrel answering <c>RECEIVED</c> (the ceiling for any ASP.NET Core app on this
/// machine) and a minimal YARP pass-through to it (what a plain reverse proxy in front of the app costs).
/// </summary>
internal static class Baselines
{
    public const string Kestrel = "kestrel";
    public const string Yarp = "yarp";

    /// <summary>Runs until killed by the harness (or stopped with Ctrl+C / SIGTERM when run by hand).</summary>
    public static async Task RunKestrelAsync(int port)
    {
        var app = Create(port, _ => { });
        app.Run(static async context =>
        {
            // Read the body like any webhook endpoint must, then answer.
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
            context.Response.ContentLength = "RECEIVED".Length;
            await context.Response.WriteAsync("RECEIVED", context.RequestAborted).ConfigureAwait(false);
        });
        await app.RunAsync().ConfigureAwait(false);
    }

    public static async Task RunYarpAsync(int port, Uri upstream)
    {
        var app = Create(port, services => services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "app", Match = new RouteMatch { Path = "{**catch-all}" } }],
            [new ClusterConfig { ClusterId = "app", Destinations = new Dictionary<string, DestinationConfig> { ["app"] = new() { Address = upstream.ToString() } } }]));
        app.MapReverseProxy();
        await app.RunAsync().ConfigureAwait(false);
    }

    private static WebApplication Create(int port, Action<IServiceCollection> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.AddServerHeader = false;
        });
        configure(builder.Services);
        return builder.Build();
    }
}

/// <summary>
/// The baseline processes of one benchmark run and their numbers: maximum throughput (closed model) measured once at
/// the start, and open-model runs at the relay's rates for latency comparisons.
/// </summary>
internal sealed class BaselineServers : IAsyncDisposable
{
    private readonly List<ChildProcess> _processes = [];
    private readonly List<RunStats> _maxRuns = [];
    private (string Name, HttpClient Client)[] _servers = [];

    public IReadOnlyList<RunStats> MaxRuns => _maxRuns;

    public double? YarpMaxRps => _maxRuns.FirstOrDefault(r => r.Name == LatencyReport.YarpBaseline)?.Rps;

    /// <summary>The bare Kestrel server: the application the relay passes other paths through to.</summary>
    public Uri KestrelUrl { get; private set; } = null!;

    public static async Task<BaselineServers> StartAsync(string folder)
    {
        var servers = new BaselineServers();
        try
        {
            var (kestrel, kestrelUrl) = await StartOneAsync(Baselines.Kestrel, null, Path.Combine(folder, "baseline-kestrel.log")).ConfigureAwait(false);
            servers._processes.Add(kestrel);
            servers.KestrelUrl = kestrelUrl;
            var (yarp, yarpUrl) = await StartOneAsync(Baselines.Yarp, kestrelUrl, Path.Combine(folder, "baseline-yarp.log")).ConfigureAwait(false);
            servers._processes.Add(yarp);
            servers._servers = [(LatencyReport.KestrelBaseline, LoadClients.Create(kestrelUrl)), (LatencyReport.YarpBaseline, LoadClients.Create(yarpUrl))];
            return servers;
        }
        catch
        {
            await servers.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Warm-up, then maximum throughput of each baseline with the same requests and connections as the relay.</summary>
    public async Task MeasureMaxAsync(BenchSettings settings, YousignCallbacks callbacks)
    {
        foreach (var (name, client) in _servers)
        {
            await ClosedModelLoad.RunAsync("warm-up", client, Untracked(callbacks, LoadClients.ClosedCapacity(settings.Warmup)), settings.Connections, settings.Warmup).ConfigureAwait(false);
            var run = await ClosedModelLoad.RunAsync(name, client, Untracked(callbacks, LoadClients.ClosedCapacity(settings.Duration)), settings.Connections, settings.Duration).ConfigureAwait(false);
            Console.WriteLine(LatencyReport.Line(name + " max", run));
            _maxRuns.Add(run);
        }
    }

    /// <summary>Each baseline at a given rate (open model), to set the relay's latency at that rate against.</summary>
    public async Task<IReadOnlyList<RunStats>> AtRateAsync(double rate, TimeSpan duration, YousignCallbacks callbacks)
    {
        var runs = new List<RunStats>();
        foreach (var (name, client) in _servers)
        {
            var run = await OpenModelLoad.RunAsync(name, client, Untracked(callbacks, (long)(rate * duration.TotalSeconds) + 1), rate, duration).ConfigureAwait(false);
            Console.WriteLine(LatencyReport.Line(name + " at the same rate", run));
            runs.Add(run);
        }

        return runs;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var (_, client) in _servers)
        {
            client.Dispose();
        }

        foreach (var process in _processes)
        {
            process.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>A baseline server (this assembly's hidden <c>baseline</c> command) in its own process, like the relay.</summary>
    private static async Task<(ChildProcess Process, Uri Url)> StartOneAsync(string kind, Uri? upstream, string logPath)
    {
        var port = LoopbackServer.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        List<string> arguments = [typeof(Baselines).Assembly.Location, "baseline", kind, "--port", port.ToString(CultureInfo.InvariantCulture)];
        if (upstream is not null)
        {
            arguments.AddRange(["--upstream", upstream.ToString()]);
        }

        var baseline = ChildProcess.Start("baseline " + kind, "dotnet", arguments, logPath);
        await baseline.WaitForSuccessAsync(url).ConfigureAwait(false);
        return (baseline, url);
    }

    /// <summary>The relay's own requests (signed Yousign callbacks); the baselines just read and answer them.</summary>
    private static Workload Untracked(YousignCallbacks callbacks, long requests) =>
        new((index, _) => callbacks.Create(index, YousignCallbacks.UnroutedEvent), null, requests);
}
