namespace Relay.Load.Scenarios;

/// <summary>
/// End to end: callbacks fanned out to three sinks, timed from the scheduled send to the arrival at each sink.
/// Two open-model steps. The first offers 0.6× YARP's maximum rate (the deliveries target, 0.5×, plus headroom),
/// capped at the relay's own maximum ingest rate: above that, acks queue and the backlog only measures itself. The
/// second offers half of the relay's maximum ingest rate (the memory target). Every acked event must reach every sink.
/// </summary>
internal sealed class EndToEndScenario : IScenario
{
    public const string SustainedStep = "sustained";

    public string Name => "end-to-end";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var rate = Math.Min((context.Baselines.YarpMaxRps ?? 0) * BenchSettings.YarpShare, context.MaxIngestRate);
        return
        [
            await RunAtAsync(context, SustainedStep, rate > 0 ? rate : context.MaxIngestRate).ConfigureAwait(false),
            await RunAtAsync(context, "50% of max", context.MaxIngestRate * BenchSettings.HalfOfMax).ConfigureAwait(false),
        ];
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
