using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Relay.Faults;
using Relay.Faults.Scenarios;
using Relay.Tests.Infrastructure;

var ci = new Option<bool>("--ci") { Description = "Short phases, what CI runs (about 6 minutes on 2 cores); the checks are the same." };
var rate = new Option<double?>("--rate") { Description = "Events per second the vendor sends (default 200; CI 150)." };
var duration = new Option<double?>("--duration") { Description = "Seconds of steady load per scenario (default 30; CI 12)." };
var scenarios = new Option<string[]>("--scenarios")
{
    Description = "Scenarios to run, by name (default all): " + string.Join(", ", ScenarioCatalog.All.Select(s => s.Name)),
    AllowMultipleArgumentsPerToken = true,
    DefaultValueFactory = _ => [.. ScenarioCatalog.All.Select(s => s.Name)],
};
var relayDll = new Option<string?>("--relay-dll") { Description = "The relay to run (default src/Relay/bin/Release/net10.0/Relay.dll)." };
var keep = new Option<bool>("--keep") { Description = "Keep every scenario's folder (logs, data); by default only failed scenarios' folders are kept." };
var root = new RootCommand("Relay's fault suite: kills relays, Redis servers and cluster nodes, breaks targets and sends bad input under steady load, and checks every scenario's ledger.")
{
    ci, rate, duration, scenarios, relayDll, keep,
};
root.SetAction(async (parse, _) =>
{
    var isCi = parse.GetValue(ci);
    var chosen = parse.GetRequiredValue(scenarios).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
    var unknown = chosen.Except(ScenarioCatalog.All.Select(s => s.Name)).ToList();
    if (unknown.Count > 0)
    {
        Console.Error.WriteLine($"Unknown scenario: {string.Join(", ", unknown)}. Scenarios: {string.Join(", ", ScenarioCatalog.All.Select(s => s.Name))}.");
        return 2;
    }

    var settings = new FaultSettings(
        isCi,
        parse.GetValue(rate) ?? (isCi ? 150 : 200),
        TimeSpan.FromSeconds(parse.GetValue(duration) ?? (isCi ? 12 : 30)),
        chosen,
        Path.GetFullPath(parse.GetValue(relayDll) ?? Repository.RelayDll("Release")),
        Directory.CreateTempSubdirectory("relay-faults-").FullName,
        parse.GetValue(keep));
    if (!File.Exists(settings.RelayDll))
    {
        Console.Error.WriteLine($"{settings.RelayDll} not found: build it first (tests/Faults/run.sh does).");
        return 2;
    }

    return await RunAsync(settings).ConfigureAwait(false);
});
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);

static async Task<int> RunAsync(FaultSettings settings)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"faults: {(settings.Ci ? "CI" : "full")} run, {settings.Rate:0} events/s, {settings.Load.TotalSeconds:0} s of load per scenario; logs and data in {settings.Work}"));
    var inCi = Environment.GetEnvironmentVariable("CI") == "true";
    var results = new List<(string Name, string Outcome, double Seconds, Verdict? Verdict)>();
    var suite = Stopwatch.StartNew();
    foreach (var scenario in ScenarioCatalog.All.Where(s => settings.Scenarios.Contains(s.Name)))
    {
        if (scenario.NeedsRedis && !RedisServerProcess.IsInstalled)
        {
            // In CI a scenario that cannot run is a failure: a store variant nobody exercised would pass silently.
            Console.WriteLine($"SKIP {scenario.Name}: redis-server is not installed (apt-get install redis-server)" + (inCi ? "; CI requires it" : ""));
            results.Add((scenario.Name, inCi ? "FAIL" : "SKIP", 0, null));
            continue;
        }

        Console.WriteLine($"---- {scenario.Name}");
        var verdict = new Verdict(scenario.Name);
        var started = Stopwatch.StartNew();
        try
        {
            var run = scenario.RunAsync(settings, verdict);
            if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(6))).ConfigureAwait(false) != run)
            {
                verdict.Fail("did not finish within 6 minutes");
            }
            else
            {
                await run.ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            verdict.Fail($"stopped by {ex.GetType().Name}: {ex.Message}");
        }

        var outcome = verdict.Passed ? "PASS" : "FAIL";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{outcome} {scenario.Name} ({started.Elapsed.TotalSeconds:0.0} s)"));
        foreach (var finding in verdict.Findings)
        {
            Console.WriteLine($"  finding: {finding}");
        }

        foreach (var problem in verdict.Problems)
        {
            Console.WriteLine($"  problem: {problem}");
        }

        results.Add((scenario.Name, outcome, started.Elapsed.TotalSeconds, verdict));
        var folder = Path.Combine(settings.Work, scenario.Name);
        if (verdict.Passed && !settings.Keep && Directory.Exists(folder))
        {
            // Data of a passed scenario (AOFs, checkpoints) is large and tells nothing; a failed one's stays for its logs.
            Directory.Delete(folder, recursive: true);
        }
    }

    Console.WriteLine();
    Console.WriteLine("faults summary:");
    foreach (var (name, outcome, seconds, _) in results)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {outcome} {name,-26} {seconds,6:0.0} s"));
    }

    var passed = results.Count(r => r.Outcome == "PASS");
    var failed = results.Count(r => r.Outcome == "FAIL");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"faults took {suite.Elapsed.TotalMinutes:0.0} min; logs and data of {(settings.Keep ? "every" : "failed")} scenarios in {settings.Work}"));
    Console.WriteLine($"faults: {passed} passed, {failed} failed");
    return failed == 0 ? 0 : 1;
}
