using Relay.Tests.Infrastructure;

namespace Relay.Load.Scenarios;

/// <summary>
/// Slow target: one sink takes 2 s per delivery while the load runs. The other sinks' delivery latency should match
/// the end-to-end step at the same rate, and the relay's memory should stay bounded while that sink's backlog grows
/// (it waits in the store, with only the target's concurrency in flight). The sink turns fast when the load stops,
/// so its backlog drains and the ledger can close.
/// </summary>
internal sealed class SlowTargetScenario : IScenario
{
    public string Name => "slow-target";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var slow = context.Sinks[^1];
        slow.Behaviour = TargetBehaviour.Slow;
        try
        {
            var step = await EndToEndScenario.RunAtAsync(
                context, $"{slow.Name} answers in {FakeTarget.SlowDelay.TotalSeconds:0}s", context.MaxIngestRate * BenchSettings.HalfOfMax,
                afterLoad: () => slow.Behaviour = TargetBehaviour.Healthy).ConfigureAwait(false);
            return [step];
        }
        finally
        {
            slow.Behaviour = TargetBehaviour.Healthy;
        }
    }
}
