namespace Relay.Load.Scenarios;

/// <summary>
/// End to end: callbacks fanned out to three sinks, timed from the scheduled send to the arrival at each sink.
/// Two open-model steps, both set from the relay's maximum ingest rate (ingest's closed-model step). The first
/// (<see cref="SustainedStep"/>) offers all of it: the fan-out target counts deliveries, three per event, against
/// YARP's requests, so 1.0× YARP takes only about a third of YARP's rate in events, and offering the relay's maximum
/// lets it get there if it can at all; offering more would only queue acks. The second offers half of it, for
/// <see cref="BenchSettings.HalfOfMaxEndToEndDuration"/> (a minute in a full run), for the delivery latency and memory
/// targets. Every acked event must reach every sink.
/// </summary>
internal sealed class EndToEndScenario : IScenario
{
    public const string SustainedStep = "sustained";

    public const string HalfOfMaxStep = "50% of max";

    public string Name => "end-to-end";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context) =>
    [
        await RunAtAsync(context, SustainedStep, context.MaxIngestRate).ConfigureAwait(false),
        await RunAtAsync(context, HalfOfMaxStep, context.MaxIngestRate * BenchSettings.HalfOfMax, duration: context.Settings.HalfOfMaxEndToEndDuration).ConfigureAwait(false),
    ];

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
