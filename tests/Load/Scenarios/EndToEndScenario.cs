namespace Relay.Load.Scenarios;

/// <summary>
/// End to end: callbacks fanned out to three sinks, timed from the scheduled send to the arrival at each sink.
/// Two open-model steps: one at a share of YARP's maximum rate (the deliveries target), one at half of the relay's
/// own maximum ingest rate (the memory target). Every acked event must reach every sink.
/// </summary>
internal sealed class EndToEndScenario : IScenario
{
    public string Name => "end-to-end";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var steps = new List<StepResult>();
        if (context.Baselines.YarpMaxRps is { } yarp)
        {
            steps.Add(await RunAtAsync(context, $"{BenchSettings.YarpShare:0.0#}× YARP rate", yarp * BenchSettings.YarpShare).ConfigureAwait(false));
        }

        steps.Add(await RunAtAsync(context, "50% of max", context.MaxIngestRate * BenchSettings.HalfOfMax).ConfigureAwait(false));
        return steps;
    }

    /// <summary>One routed, open-model step at <paramref name="rate"/>; the other scenarios use it too.</summary>
    public static Task<StepResult> RunAtAsync(BenchContext context, string name, double rate, Action? afterLoad = null, TimeSpan? duration = null, Func<long, long>? eventOf = null, long? events = null)
    {
        var length = duration ?? context.Settings.Duration;
        var requests = (long)(rate * length.TotalSeconds) + 1;
        return context.RunStepAsync(
            new StepPlan(name, YousignCallbacks.RoutedEvent, ExpectsDeliveries: true, requests, events ?? requests, eventOf),
            workload => OpenModelLoad.RunAsync("relay " + name, context.RelayClient, workload, rate, length),
            afterLoad);
    }
}
