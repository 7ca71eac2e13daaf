using System.Globalization;

namespace Relay.Load.Scenarios;

/// <summary>
/// Conditions: what a <c>when:</c> on every route costs the ack path. Ingest's maximum throughput (closed model,
/// unrouted events, so nothing is delivered either way) with the benchmark's routes as they are, whose <c>events</c>
/// glob turns the events away, against the same routes letting them through the glob to a condition over the body
/// that is false. Runs alternate without, with, with, without, twice (one pair in smoke mode), each half a step long,
/// so a burst of other work on a shared machine falls on both sides alike; each pair shares one relay and store,
/// whose config is rewritten and hot-reloaded between its two runs. The ratio is of the mean rates.
/// </summary>
internal sealed class ConditionsScenario : IScenario
{
    public const string ScenarioName = "conditions";

    public const string Without = "no when";
    public const string With = "when on every route";

    public string Name => ScenarioName;

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        bool[][] blocks = settings.Smoke ? [[false, true]] : [[false, true], [true, false], [false, true], [true, false]];
        var duration = settings.Smoke ? settings.Duration : settings.Duration / 2;
        var folder = context.RelayFolder;
        var steps = new List<StepResult>();
        for (var block = 0; block < blocks.Length; block++)
        {
            // A fresh relay and store per pair of runs: one embedded store taking every run's events grew until it
            // flushed pages to disk, and Garnet 2.2.8 can fail there ("Collection was modified" serializing a sorted
            // set), which ended the relay. The harness started the first relay, warmed up without conditions.
            if (block > 0 && !await context.StartRelayAsync(Directory.CreateDirectory(Path.Combine(folder, $"pair-{block + 1}")).FullName).ConfigureAwait(false))
            {
                throw new InvalidOperationException("the relay could not be restarted for the next pair of runs");
            }

            // Both paths are warmed up as long as a run lasts before anything is measured: with the harness's short
            // warm-up, the first run of every pair was slower than the second whichever side it measured (the relay
            // was still compiling its hot code), which the pair order cancelled on average but not run to run.
            foreach (var warm in (bool[])[true, false])
            {
                await context.ReconfigureAsync(warm).ConfigureAwait(false);
                await context.WarmUpAsync(duration).ConfigureAwait(false);
            }

            foreach (var withConditions in blocks[block])
            {
                await context.ReconfigureAsync(withConditions).ConfigureAwait(false);
                var capacity = LoadClients.ClosedCapacity(duration);
                steps.Add(await context.RunStepAsync(
                    new StepPlan($"{(withConditions ? With : Without)} #{steps.Count + 1} max throughput", YousignCallbacks.UnroutedEvent, ExpectsDeliveries: false, capacity, capacity),
                    workload => ClosedModelLoad.RunAsync("relay ingest", context.RelayClient, workload, settings.Connections, duration)).ConfigureAwait(false));
            }
        }

        if (Ratio(steps) is { } ratio)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{context.Store} conditions: {ratio.With:0} rps with a when on every route, {ratio.Without:0} rps without = {ratio.Value:0.00}×"));
        }

        return steps;
    }

    /// <summary>The mean maximum rate with conditions over the mean without; null unless both were measured.</summary>
    public static (double With, double Without, double Value)? Ratio(IReadOnlyList<StepResult> steps)
    {
        var with = steps.Where(s => s.Step.StartsWith(With, StringComparison.Ordinal)).Select(s => s.Load.Rps).ToList();
        var without = steps.Where(s => s.Step.StartsWith(Without, StringComparison.Ordinal)).Select(s => s.Load.Rps).ToList();
        return with.Count > 0 && without.Count > 0 && without.Average() > 0 ? (with.Average(), without.Average(), with.Average() / without.Average()) : null;
    }
}
