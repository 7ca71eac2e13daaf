using System.Globalization;

namespace Relay.Load.Scenarios;

/// <summary>
/// Ordering: what <c>ordering: key</c> costs, and that it holds. Callbacks of <see cref="Keys"/> signature requests
/// (Yousign's ordering key) in bursts of <see cref="Burst"/> per signature request, as a signing sends them
/// (<c>signer.done</c>, then <c>signature_request.done</c>, ...), fanned out to the three sinks. A closed-model load
/// sends each key's callbacks one at a time, so its accept order is known, and a burst's callbacks back to back, so
/// they wait in the relay's queues side by side, where an unordered target delivers them at once.
/// <para>
/// The same step runs on a relay whose targets are ordered by key and on one whose targets are not, otherwise
/// configured alike, each on a fresh relay and store, in interleaved rounds (on, off, off, on, on, off) so drift on a
/// shared machine falls on both sides; each side's throughput is its median. Throughput is events that reached all
/// three sinks per second, from the first send to the last arrival, so it counts ingest and the drain of the backlog
/// ingest outran. At the sinks, every key's events must arrive in accept order and never two at once while ordered;
/// unordered, both are only reported. The smoke run has only the ordered step, whose checks it needs.
/// </para>
/// </summary>
internal sealed class OrderingScenario : IScenario
{
    /// <summary>Distinct ordering keys of every step.</summary>
    public const int Keys = 1000;

    /// <summary>Callbacks of one signature request sent back to back before the load moves to another.</summary>
    public const int Burst = 4;

    public const string Ordered = "ordering: key";
    public const string Unordered = "ordering off";

    /// <summary>Ordered over unordered throughput that ordering must keep.</summary>
    public const double MinShare = 0.75;

    public string Name => "ordering";

    public bool OrderedByKey => true;

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        bool[] rounds = settings.Smoke ? [true] : [true, false, false, true, true, false];
        var steps = new List<StepResult>();
        foreach (var orderedByKey in rounds)
        {
            await context.FreshRelayAsync(orderedByKey).ConfigureAwait(false);
            var side = orderedByKey ? Ordered : Unordered;
            var name = $"{side} #{steps.Count(s => s.Step.StartsWith(side, StringComparison.Ordinal)) + 1}";
            var capacity = LoadClients.ClosedCapacity(settings.Duration);
            steps.Add(await context.RunStepAsync(
                new StepPlan(name, YousignCallbacks.RoutedEvent, ExpectsDeliveries: true, capacity, capacity, OrderingKeys: Keys),
                workload => ClosedModelLoad.RunPerKeyAsync("relay " + name, context.RelayClient, workload, settings.Connections, settings.Duration, Keys, Burst)).ConfigureAwait(false));
        }

        Console.WriteLine($"  {context.Store} {Name}: {Summary(steps)}");
        return steps;
    }

    /// <summary>Both sides' throughput and the share ordering keeps, or each side's figures when one is missing.</summary>
    public static string Summary(IReadOnlyList<StepResult> steps) => Cost.Of(steps)?.Line() ?? Cost.Sides(steps);

    /// <summary>
    /// Ordered against unordered throughput: the median events/s to all sinks of each side's steps, and, to show how
    /// much the machine moved between steps, the share within each round (its two steps ran one after the other).
    /// Beside it the median CPU (relay and store) per event of each side: the work each event took, which shows whether
    /// ordering costs work or only waiting (other load on the machine sways it too, if less).
    /// </summary>
    internal sealed record Cost(
        double On, double Off, IReadOnlyList<double> OnSteps, IReadOnlyList<double> OffSteps, IReadOnlyList<double> RoundShares, double? CpuOn, double? CpuOff)
    {
        public double Share => On / Off;

        /// <summary>Null unless both sides have a measured step (the smoke run has only the ordered one).</summary>
        public static Cost? Of(IReadOnlyList<StepResult> steps)
        {
            var ordered = PerSecond(steps, Ordered);
            var unordered = PerSecond(steps, Unordered);
            List<double> rounds = [.. steps.Chunk(2).Where(r => r.Length == 2).Select(RoundShare).OfType<double>()];
            List<double> cpuOn = [.. Of(steps, Ordered).Select(s => s.CpuMsPerEvent).OfType<double>()];
            List<double> cpuOff = [.. Of(steps, Unordered).Select(s => s.CpuMsPerEvent).OfType<double>()];
            return ordered.Count > 0 && unordered.Count > 0 && Median(unordered) > 0
                ? new Cost(Median(ordered), Median(unordered), ordered, unordered, rounds, cpuOn.Count > 0 ? Median(cpuOn) : null, cpuOff.Count > 0 ? Median(cpuOff) : null)
                : null;
        }

        /// <summary>The figures of the side that was measured, when there is nothing to compare.</summary>
        public static string Sides(IReadOnlyList<StepResult> steps)
        {
            var measured = ((string[])[Ordered, Unordered]).Where(side => PerSecond(steps, side).Count > 0).Select(side => $"{side} {List(PerSecond(steps, side))}").ToList();
            return measured.Count == 0 ? "no step measured" : $"{string.Join(", ", measured)} events/s to all sinks; no on/off share without steps of both";
        }

        public string Line()
        {
            var rounds = string.Join(", ", RoundShares.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)));
            var cpu = CpuOn is { } on && CpuOff is { } off ? string.Create(CultureInfo.InvariantCulture, $"; CPU {on:0.00} against {off:0.00} ms/event ({on / off:0.00})") : "";
            return string.Create(
                CultureInfo.InvariantCulture,
                $"{Ordered} {On:0} events/s (median of {List(OnSteps)}), {Unordered} {Off:0} events/s (median of {List(OffSteps)}) to all sinks; on/off {Share:0.00} (per round {rounds}){cpu}");
        }

        private static IEnumerable<StepResult> Of(IReadOnlyList<StepResult> steps, string side) => steps.Where(s => s.Step.StartsWith(side, StringComparison.Ordinal));

        private static List<double> PerSecond(IReadOnlyList<StepResult> steps, string side) =>
            [.. Of(steps, side).Select(s => s.Ledger.EventsDeliveredPerSecond).OfType<double>()];

        /// <summary>On over off within one round of two steps; null unless it has one measured step of each side.</summary>
        private static double? RoundShare(StepResult[] round) =>
            PerSecond(round, Ordered) is [var on] && PerSecond(round, Unordered) is [var off] && off > 0 ? on / off : null;

        private static double Median(List<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        }

        private static string List(IReadOnlyList<double> values) =>
            values.Count == 0 ? "none" : string.Join(", ", values.Select(v => v.ToString("0", CultureInfo.InvariantCulture)));
    }
}
