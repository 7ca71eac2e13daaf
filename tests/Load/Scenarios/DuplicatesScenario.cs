namespace Relay.Load.Scenarios;

/// <summary>
/// Duplicates: half of the requests repeat an event sent shortly before (same body, same signature, as a vendor
/// retry does), often while the original is still in flight. Every request must be acked, and no sink may receive
/// one event under two webhook-ids.
/// </summary>
internal sealed class DuplicatesScenario : IScenario
{
    /// <summary>Repeats pick one of the last this-many events, so some race their original and some follow it.</summary>
    private const long RecentEvents = 64;

    public string Name => "duplicates";

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var rate = context.MaxIngestRate * BenchSettings.HalfOfMax;
        var requests = (long)(rate * context.Settings.Duration.TotalSeconds) + 1;
        var step = await EndToEndScenario.RunAtAsync(context, "50% repeated ids", rate, eventOf: EventOf, events: (requests / 2) + 1).ConfigureAwait(false);
        return [step];
    }

    /// <summary>Even requests send a new event; odd ones repeat one of the recent events (a fixed, spread-out choice).</summary>
    private static long EventOf(long index)
    {
        var newest = index / 2;
        if (index % 2 == 0)
        {
            return newest;
        }

        var back = (long)(((ulong)index * 2654435761UL) >> 8) % Math.Min(newest + 1, RecentEvents);
        return newest - back;
    }
}
