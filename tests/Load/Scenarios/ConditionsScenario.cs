using System.Globalization;

namespace Relay.Load.Scenarios;

/// <summary>
/// Conditions: what a <c>when:</c> on every route costs the ack path. Ingest's maximum throughput (closed model,
/// unrouted events, so nothing is delivered either way) with the benchmark's routes as they are, whose <c>events</c>
/// glob turns the events away, against the same routes letting them through the glob to a condition over the body
/// that is false. Runs alternate, without, with, with, without (one pair in smoke mode), each on a fresh relay and
/// store, so drift of a shared machine falls on both sides alike; the ratio is the sum of the runs' rates.
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
        var order = settings.Smoke ? [false, true] : new[] { false, true, true, false };
        var folder = context.RelayFolder;
        var steps = new List<StepResult>();
        for (var run = 0; run < order.Length; run++)
        {
            var withConditions = order[run];

            // The relay the harness started for this scenario has the routes without conditions: the first run uses it.
            if (run > 0 && !await context.StartRelayAsync(Directory.CreateDirectory(Path.Combine(folder, $"run-{run + 1}")).FullName, withConditions).ConfigureAwait(false))
            {
                throw new InvalidOperationException("the relay could not be restarted for the next run");
            }

            var capacity = LoadClients.ClosedCapacity(settings.Duration);
            steps.Add(await context.RunStepAsync(
                new StepPlan($"{(withConditions ? With : Without)} #{run + 1} max throughput", YousignCallbacks.UnroutedEvent, ExpectsDeliveries: false, capacity, capacity),
                workload => ClosedModelLoad.RunAsync("relay ingest", context.RelayClient, workload, settings.Connections, settings.Duration)).ConfigureAwait(false));
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
