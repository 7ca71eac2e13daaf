namespace Relay.Load.Scenarios;

/// <summary>
/// Ingest: signed callbacks with unique ids, acknowledged once durable. The events route to no target, so this
/// measures the ack path alone (verify, dedupe check, store, durable commit): first maximum throughput (closed
/// model), then latency at half of that rate (open model), with the baselines at the same rate beside it.
/// </summary>
internal sealed class IngestScenario : IScenario
{
    public string Name => "ingest";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;

        var capacity = LoadClients.ClosedCapacity(settings.Duration);
        var max = await context.RunStepAsync(
            new StepPlan("max throughput", YousignCallbacks.UnroutedEvent, ExpectsDeliveries: false, capacity, capacity),
            workload => ClosedModelLoad.RunAsync("relay ingest", context.RelayClient, workload, settings.Connections, settings.Duration)).ConfigureAwait(false);
        context.MaxIngestRate = max.Load.Rps;

        var rate = context.MaxIngestRate * BenchSettings.HalfOfMax;
        var requests = (long)(rate * settings.Duration.TotalSeconds) + 1;
        var half = await context.RunStepAsync(
            new StepPlan("50% of max", YousignCallbacks.UnroutedEvent, ExpectsDeliveries: false, requests, requests),
            workload => OpenModelLoad.RunAsync("relay ingest", context.RelayClient, workload, rate, settings.Duration)).ConfigureAwait(false);
        var baselines = await context.Baselines.AtRateAsync(rate, settings.Duration, context.Callbacks).ConfigureAwait(false);
        return [max, half with { BaselinesAtRate = baselines }];
    }
}
