namespace Relay.Load.Scenarios;

/// <summary>
/// Ingest: signed callbacks with unique ids, acknowledged once durable (verify, dedupe check, store, durable commit).
/// Every event routes to all three sinks and dispatch runs meanwhile, as in production: an ack rate that only holds
/// while nothing is delivered would promise a backlog. First maximum throughput (closed model), then latency at half
/// of that rate (open model), with the baselines at the same rate beside it. Each step's ledger waits for every
/// delivery.
/// </summary>
internal sealed class IngestScenario : IScenario
{
    public string Name => "ingest";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;

        var capacity = LoadClients.ClosedCapacity(settings.Duration);
        var max = await context.RunStepAsync(
            new StepPlan("max throughput", YousignCallbacks.RoutedEvent, ExpectsDeliveries: true, capacity, capacity),
            workload => ClosedModelLoad.RunAsync("relay ingest", context.RelayClient, workload, settings.Connections, settings.Duration)).ConfigureAwait(false);
        context.MaxIngestRate = max.Load.Rps;

        var rate = context.MaxIngestRate * BenchSettings.HalfOfMax;
        var requests = (long)(rate * settings.Duration.TotalSeconds) + 1;
        var half = await context.RunStepAsync(
            new StepPlan("50% of max", YousignCallbacks.RoutedEvent, ExpectsDeliveries: true, requests, requests),
            workload => OpenModelLoad.RunAsync("relay ingest", context.RelayClient, workload, rate, settings.Duration)).ConfigureAwait(false);
        var baselines = await context.Baselines.AtRateAsync(rate, settings.Duration, context.Callbacks).ConfigureAwait(false);
        return [max, half with { BaselinesAtRate = baselines }];
    }
}
