using Relay.Tests.Infrastructure;

namespace Relay.Load.Scenarios;

/// <summary>
/// Outage: one sink answers 503 for the outage length from the moment the load starts, then recovers while the load
/// goes on. The relay must retry (its circuit breaker pausing meanwhile) and deliver everything afterwards: nothing
/// lost, nothing dead-lettered.
/// </summary>
internal sealed class OutageScenario : IScenario
{
    public string Name => "outage";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        var down = context.Sinks[1];
        down.Behaviour = TargetBehaviour.Unavailable;
        using var recover = new CancellationTokenSource();
        var recovery = RecoverAfterAsync(down, settings.Outage, recover.Token);
        try
        {
            // The load outlasts the outage by half a scenario, so recovery happens under load.
            var step = await EndToEndScenario.RunAtAsync(
                context, $"{down.Name} 503 for {settings.Outage.TotalSeconds:0}s", context.MaxIngestRate * BenchSettings.HalfOfMax,
                duration: settings.Outage + (settings.Duration / 2)).ConfigureAwait(false);
            return [step];
        }
        finally
        {
            await recover.CancelAsync().ConfigureAwait(false);
            down.Behaviour = TargetBehaviour.Healthy;
            await recovery.ConfigureAwait(false);
        }
    }

    private static async Task RecoverAfterAsync(FakeTarget sink, TimeSpan outage, CancellationToken cancel)
    {
        try
        {
            await Task.Delay(outage, cancel).ConfigureAwait(false);
            sink.Behaviour = TargetBehaviour.Healthy;
        }
        catch (OperationCanceledException)
        {
            // The step ended first (it failed); the finally block restores the sink.
        }
    }
}
