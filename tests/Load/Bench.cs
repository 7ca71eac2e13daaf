using System.Globalization;
using System.Runtime.InteropServices;
using Relay.Load.Scenarios;

namespace Relay.Load;

/// <summary>
/// The benchmark from start to finish: baselines and the physical limits first, then for each store variant a fresh
/// relay (and redis-server) running every scenario, then targets, reports, and the closing line
/// <c>load: N passed, M failed</c> counting the scenarios whose ledgers balanced. A full run also fails when a target
/// is missed. Everything it starts, it kills, also when a step fails.
/// </summary>
internal static class Bench
{
    public static async Task<int> RunAsync(BenchSettings settings)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var loadAtStart = LoadAverage();
        var folder = Directory.CreateTempSubdirectory("relay-load-").FullName;
        var callbacks = new YousignCallbacks(Guid.NewGuid().ToString("N")[..12]);
        var machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
        Console.WriteLine($"load: {settings.Mode} run, {machine}; {settings.Duration.TotalSeconds:0.#}s per step, {settings.Connections} connections for closed-model runs; logs in {folder}");
        if (!File.Exists(settings.RelayDll))
        {
            Console.WriteLine($"load: {settings.RelayDll} not found; build it first (dotnet build -c Release src/Relay).");
            return 2;
        }

        var results = new List<ScenarioResult>();
        var notes = new List<string>();
        IReadOnlyList<RunStats> baselineRuns;
        PhysicalLimits limits;
        await using (var baselines = await BaselineServers.StartAsync(folder).ConfigureAwait(false))
        {
            Console.WriteLine("baselines");
            await baselines.MeasureMaxAsync(settings, callbacks).ConfigureAwait(false);
            baselineRuns = baselines.MaxRuns;
            limits = await MeasureLimitsAsync(settings, baselineRuns, folder).ConfigureAwait(false);
            foreach (var store in settings.Stores)
            {
                await RunStoreAsync(settings, store, baselines, callbacks, folder, results, notes).ConfigureAwait(false);
            }
        }

        var targets = Targets.Evaluate(baselineRuns, results, settings.Smoke);
        notes.AddRange(Targets.Observations(results));
        notes.Add("Ingest, end-to-end and later scenarios route every event to all 3 sinks, with dispatch running; conditions measures ingest again, with and without a when on every route.");
        notes.Add("Fan-out deliveries/s are HTTP deliveries: 3× the events that reached all 3 sinks per second, from the first scheduled send to the last arrival.");
        notes.Add($"Harness, sinks, baselines, relay and store share the machine's cores; every number is relative to this machine under this harness. Load average (1, 5, 15 min) at start: {loadAtStart}; at end: {LoadAverage()}.");
        var report = new BenchReport(settings.Mode, machine, TimeProvider.System.GetUtcNow(), baselineRuns, limits, results, targets, notes);
        var (markdown, json) = await LatencyReport.WriteAsync(report, settings.ResultsFolder).ConfigureAwait(false);

        Console.WriteLine();
        foreach (var target in targets)
        {
            Console.WriteLine($"{target.Verdict}  {target.Target}: {target.Detail}");
        }

        foreach (var note in notes)
        {
            Console.WriteLine("note: " + note);
        }

        Console.WriteLine($"report: {markdown}");
        Console.WriteLine($"report: {json}");
        foreach (var failed in results.Where(r => !r.Passed))
        {
            Console.WriteLine($"FAILED {failed.Store} {failed.Scenario}: {failed.Error ?? string.Join("; ", failed.Steps.SelectMany(s => s.Problems))}");
        }

        Console.WriteLine($"load: took {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} min");
        var missed = targets.Count(t => t.Verdict == Targets.Miss);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"targets: {targets.Count(t => t.Verdict == Targets.Pass)} passed, {missed} missed, {targets.Count(t => t.Verdict == Targets.Skip)} skipped{(settings.Smoke ? " (not asserted in a smoke run)" : "")}"));
        var passed = results.Count(r => r.Passed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load: {passed} passed, {results.Count - passed} failed"));

        // A smoke run's seconds-long steps on a shared CI machine say nothing reliable about targets: only its ledgers count.
        return results.Count - passed == 0 && (settings.Smoke || missed == 0) ? 0 : 1;
    }

    /// <summary>
    /// The physical limits, before any store scenario (full runs only): the store's accept rate with the relay's own
    /// script, and bare Kestrel's maximum, already measured with the baselines.
    /// </summary>
    private static async Task<PhysicalLimits> MeasureLimitsAsync(BenchSettings settings, IReadOnlyList<RunStats> baselineRuns, string folder)
    {
        Console.WriteLine("physical limits");
        StoreAcceptLimit store;
        try
        {
            store = await StoreAcceptBenchmark.MeasureAsync(settings, folder).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or FormatException)
        {
            // Reported, not fatal: the relay's own figures do not depend on it.
            store = StoreAcceptLimit.Skipped($"failed: {ex.Message}");
        }

        var limits = new PhysicalLimits(baselineRuns.FirstOrDefault(b => b.Name == LatencyReport.KestrelBaseline)?.Rps, store);
        foreach (var line in limits.Lines())
        {
            Console.WriteLine(line);
        }

        return limits;
    }

    /// <summary>Other work on the machine skews every number; the report says how busy it was.</summary>
    private static string LoadAverage()
    {
        try
        {
            return string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static async Task RunStoreAsync(
        BenchSettings settings, string store, BaselineServers baselines, YousignCallbacks callbacks, string folder, List<ScenarioResult> results, List<string> notes)
    {
        Console.WriteLine(store == BenchSettings.Redis ? $"{store} (a redis-server per scenario, appendonly yes, appendfsync always)" : $"{store} (embedded store)");
        await using var context = await BenchContext.StartAsync(settings, store, baselines, callbacks).ConfigureAwait(false);
        foreach (var scenario in ScenarioCatalog.All.Where(s => s is IngestScenario || settings.Scenarios.Contains(s.Name)))
        {
            if (!scenario.RunsOn(settings, store))
            {
                Console.WriteLine($"{store} {scenario.Name}: not run on this store in a {settings.Mode} run");
                continue;
            }

            Console.WriteLine($"{store} {scenario.Name}");
            var scenarioStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            if (scenario is not IngestScenario && context.MaxIngestRate <= 0)
            {
                // Every later scenario's rate is a share of ingest's maximum; without it they would send nothing.
                results.Add(new ScenarioResult(store, scenario.Name, [], "not run: ingest did not measure the relay's maximum rate"));
                continue;
            }

            try
            {
                if (!await context.StartRelayAsync(Directory.CreateDirectory(Path.Combine(folder, store, scenario.Name)).FullName, scenario.OrderedByKey).ConfigureAwait(false))
                {
                    var skipped = $"{store}: skipped, redis-server is not installed (apt-get install redis-server)";
                    Console.WriteLine(skipped);
                    notes.Add(skipped);
                    return;
                }

                results.Add(new ScenarioResult(store, scenario.Name, await scenario.RunAsync(context).ConfigureAwait(false), null));
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or IOException)
            {
                // Record and go on: one broken scenario should not hide the others' results.
                Console.WriteLine($"{store} {scenario.Name}: {ex.GetType().Name}: {ex.Message}");
                results.Add(new ScenarioResult(store, scenario.Name, [], $"{ex.GetType().Name}: {ex.Message}"));
            }
            finally
            {
                await context.StopRelayAsync().ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{store} {scenario.Name}: took {System.Diagnostics.Stopwatch.GetElapsedTime(scenarioStarted).TotalSeconds:0.0} s"));
            }
        }
    }
}
