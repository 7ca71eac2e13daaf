using System.Diagnostics;
using System.Globalization;
using System.Runtime.Loader;
using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>
/// The fastest this machine allows, measured in the same run as the relay: how fast the store accepts events with the
/// relay's own accept script (<see cref="StoreAcceptLimit"/>), and how fast any ASP.NET Core app answers (bare
/// Kestrel's maximum, from the baselines). The relay's figures are only as high as these allow.
/// </summary>
/// <param name="KestrelRps">Bare Kestrel's maximum requests per second (closed model); null when not measured.</param>
internal sealed record PhysicalLimits(double? KestrelRps, StoreAcceptLimit StoreAccept)
{
    public const string Meaning =
        "The fastest Redis (appendfsync always) accepts events with the relay's own accept script, called by redis-benchmark "
        + "with no HTTP, signature or relay in the way, and the fastest an ASP.NET Core app (bare Kestrel) answers on this machine.";

    public IEnumerable<string> Lines()
    {
        yield return StoreAccept.Rps is { } rps
            ? string.Create(CultureInfo.InvariantCulture, $"  store accept (redis-benchmark, accept.lua)  {rps,8:0} events/s  p50 {StoreAccept.P50Ms,6:0.00}  p99 {StoreAccept.P99Ms,6:0.00} ms  ({StoreAccept.Detail})")
            : $"  store accept (redis-benchmark, accept.lua)  skipped: {StoreAccept.Detail}";
        yield return KestrelRps is { } kestrel
            ? string.Create(CultureInfo.InvariantCulture, $"  bare Kestrel                                {kestrel,8:0} rps")
            : "  bare Kestrel                                not measured";
    }
}

/// <summary>What redis-benchmark measured calling the accept script, or why it did not run (<see cref="Rps"/> null).</summary>
/// <param name="Detail">How it was measured (calls, connections, events stored), or why it was skipped.</param>
internal sealed record StoreAcceptLimit(double? Rps, double? P50Ms, double? P99Ms, string Detail)
{
    public static StoreAcceptLimit Skipped(string why) => new(null, null, null, why);
}

/// <summary>
/// Measures <see cref="StoreAcceptLimit"/>: a private redis-server configured like the benchmark's redis variant
/// (<see cref="RedisServerProcess"/>: appendonly yes, appendfsync always), the relay's accept script loaded with
/// SCRIPT LOAD, and redis-benchmark calling it with EVALSHA, each call a new event routed to the three sinks'
/// targets, with the keys and arguments the relay passes (EventStore.AcceptOneAsync) and a body and headers of the
/// size the benchmark's callbacks have.
/// </summary>
internal static class StoreAcceptBenchmark
{
    /// <summary>The benchmark's targets, as relay.yaml names them.</summary>
    private static readonly string[] Targets = ["crm", "archive", "billing"];

    /// <summary>Calls of the first, unreported run, which warms the server up and tells how many calls make a step.</summary>
    private const long CalibrationCalls = 5_000;

    /// <summary>
    /// redis-benchmark replaces each <c>__rand_int__</c> with its own random number below this (12 digits, zero
    /// padded); a range this wide makes two calls with the same event id (a dedupe hit) rare.
    /// </summary>
    private const long RandomRange = 1_000_000_000;

    private const string Placeholder = "__rand_int__";

    /// <summary>
    /// Every event lands in one partition: redis-benchmark cannot spread them by hash like the relay, and on one
    /// redis-server a partition changes only the keys' names, not the work.
    /// </summary>
    private const string Tag = "{relay:p0}";

    public static async Task<StoreAcceptLimit> MeasureAsync(BenchSettings settings, string folder)
    {
        if (settings.Smoke)
        {
            return StoreAcceptLimit.Skipped("smoke run");
        }

        var benchmark = Path.Combine(Path.GetDirectoryName(RedisServerProcess.Cli)!, "redis-benchmark");
        if (!RedisServerProcess.IsInstalled || !File.Exists(benchmark))
        {
            return StoreAcceptLimit.Skipped("redis-server and redis-benchmark are not installed (apt-get install redis-server redis-tools)");
        }

        using var redis = await RedisServerProcess.TryStartAsync(Directory.CreateDirectory(Path.Combine(folder, "physical-limits")).FullName).ConfigureAwait(false);
        if (redis is null)
        {
            return StoreAcceptLimit.Skipped("redis-server could not be started");
        }

        var port = redis.Port.ToString(CultureInfo.InvariantCulture);
        var sha = (await RunAsync(RedisServerProcess.Cli, ["-p", port, "SCRIPT", "LOAD", AcceptScript(settings.RelayDll)]).ConfigureAwait(false)).Trim();
        if (sha.Length != 40 || !sha.All(char.IsAsciiHexDigitLower))
        {
            throw new InvalidOperationException($"SCRIPT LOAD of the accept script answered '{sha}'");
        }

        var call = AcceptCall(sha);
        var connections = settings.Connections.ToString(CultureInfo.InvariantCulture);
        var calibration = await RunBenchmarkAsync(benchmark, port, connections, CalibrationCalls, call).ConfigureAwait(false);
        var calls = (long)Math.Max(calibration.Rps * settings.Duration.TotalSeconds, CalibrationCalls);
        var before = await ReadyEntriesAsync(port).ConfigureAwait(false);
        var run = await RunBenchmarkAsync(benchmark, port, connections, calls, call).ConfigureAwait(false);
        var stored = await ReadyEntriesAsync(port).ConfigureAwait(false) - before;

        // An EVALSHA that failed (a wrong key count, a script error) would be timed like any answer: the events that
        // reached a target's ready list show whether the calls were accepts.
        if (stored < calls * 0.99)
        {
            throw new InvalidOperationException($"redis-benchmark made {calls} accept calls but only {stored} events were queued; see {redis.Folder}/redis.log");
        }

        return new StoreAcceptLimit(run.Rps, run.P50Ms, run.P99Ms, $"{calls} calls, {settings.Connections} connections, {stored} events queued to each of {Targets.Length} targets");
    }

    /// <summary>
    /// The accept script as the relay loads it (StoreScripts): lib.lua, a newline, accept.lua, read from the embedded
    /// resources of the relay under test, so the measured script is the one that runs.
    /// </summary>
    private static string AcceptScript(string relayDll)
    {
        var context = new AssemblyLoadContext("relay-scripts", isCollectible: true);
        try
        {
            var relay = context.LoadFromAssemblyPath(relayDll);
            return Resource(relay, "lib") + "\n" + Resource(relay, "accept");
        }
        finally
        {
            context.Unload();
        }

        static string Resource(System.Reflection.Assembly relay, string name)
        {
            using var stream = relay.GetManifestResourceStream($"Relay.Store.Scripts.{name}.lua")
                ?? throw new InvalidOperationException($"{relay.Location} has no embedded Relay.Store.Scripts.{name}.lua");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>
    /// EVALSHA with accept.lua's KEYS and ARGV as EventStore.AcceptOneAsync builds them for a Yousign callback routed to
    /// the three targets, none ordered: 6 keys, then 4 per target (ready list, routed index, pending index, and the
    /// key queue of the event's ordering key, which an unordered target never touches); the id, dedupe window,
    /// retention, received-at, type, one '0' per target, then the event hash's fields.
    /// </summary>
    private static List<string> AcceptCall(string sha)
    {
        const string Type = YousignCallbacks.RoutedEvent;
        const string Source = "yousign";
        var eventId = "load-" + Placeholder;
        var signatureRequest = "sr-" + Placeholder;
        var body = Signing.YousignEvent(eventId, Type, signatureRequest);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var hour = ((long)TimeSpan.FromHours(1).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

        List<string> keys =
        [
            $"{Tag}:dedup:{Source}:{eventId}",
            $"{Tag}:evt:evt_{Placeholder}_0",
            $"{Tag}:events",
            $"{Tag}:ix:source:{Source}",
            $"{Tag}:ix:type:{Type}",
            $"{Tag}:ix:types",
        ];
        foreach (var target in Targets)
        {
            keys.AddRange([$"{Tag}:ready:{target}", $"{Tag}:ix:routed:{target}", $"{Tag}:ix:state:{target}:pending", $"{Tag}:okq:{target}:{signatureRequest}"]);
        }

        // What the relay keeps of the benchmark's requests: the vendor's headers (StoreJson writes key/value pairs so),
        // every route's decision, and the W3C trace context of the request.
        var headers = "[{\"Key\":\"Content-Type\",\"Value\":\"application/json; charset=utf-8\"},{\"Key\":\"User-Agent\",\"Value\":\"Yousign Webhook Bot\"},"
            + $"{{\"Key\":\"X-Yousign-Signature-256\",\"Value\":\"{Signing.YousignSignature(YousignCallbacks.Secret, body)}\"}},"
            + $"{{\"Key\":\"X-Yousign-Retry\",\"Value\":\"0\"}},{{\"Key\":\"{YousignCallbacks.EventHeader}\",\"Value\":\"{Placeholder}\"}}]";
        var routes = "[" + string.Join(",", Targets.Select(t => $"{{\"target\":\"{t}\",\"verdict\":\"matched\"}}")) + "]";
        List<string> arguments =
        [
            $"evt_{Placeholder}_0", hour, hour, now, Type, new string('0', Targets.Length),
            "source", Source,
            "type", Type,
            "tags", "[]",
            "dedupeKey", eventId,
            "receivedAt", now,
            "method", "POST",
            "query", "",
            "contentType", "application/json; charset=utf-8",
            "headers", headers,
            "body", body,
            "targets", string.Join(",", Targets),
            "trace", "00-" + new string('1', 32) + "-" + new string('2', 16) + "-01",
            "ordering", signatureRequest,
            "routes", routes,
        ];
        arguments.AddRange(Targets.SelectMany(t => (string[])[t + ".state", "pending"]));
        return ["EVALSHA", sha, keys.Count.ToString(CultureInfo.InvariantCulture), .. keys, .. arguments];
    }

    private static async Task<(double Rps, double P50Ms, double P99Ms)> RunBenchmarkAsync(string benchmark, string port, string connections, long calls, IReadOnlyList<string> call)
    {
        var output = await RunAsync(benchmark, ["-p", port, "-c", connections, "-n", calls.ToString(CultureInfo.InvariantCulture), "-r", RandomRange.ToString(CultureInfo.InvariantCulture), "--csv", .. call]).ConfigureAwait(false);

        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms":
        // the test's name is the command itself, commas and quotes included, so the figures are read from the end.
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("\"EVALSHA", StringComparison.Ordinal));
        var fields = line?.Split(',');
        if (fields is not { Length: >= 8 })
        {
            throw new InvalidOperationException($"redis-benchmark printed no result line: {output}");
        }

        double Field(int fromEnd) => double.Parse(fields[^fromEnd].Trim('"'), CultureInfo.InvariantCulture);
        return (Field(7), Field(4), Field(2));
    }

    /// <summary>Entries in the first target's ready list: one per event the script accepted.</summary>
    private static async Task<long> ReadyEntriesAsync(string port) =>
        long.Parse((await RunAsync(RedisServerProcess.Cli, ["-p", port, "LLEN", $"{Tag}:ready:{Targets[0]}"]).ConfigureAwait(false)).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Runs a command to its end and returns its output; fails, with its output, when it exits with an error or takes over 10 minutes.</summary>
    private static async Task<string> RunAsync(string fileName, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var output = process.StandardOutput.ReadToEndAsync(limit.Token);
        var errors = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(fileName)} did not finish within 10 minutes");
        }

        var text = await output.ConfigureAwait(false);
        var error = await errors.ConfigureAwait(false);
        return process.ExitCode == 0
            ? text
            : throw new InvalidOperationException($"{Path.GetFileName(fileName)} {(arguments.Count > 0 ? arguments[0] : "")} failed ({process.ExitCode}): {error} {text}");
    }
}
