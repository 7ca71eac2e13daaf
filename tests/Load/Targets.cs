using System.Globalization;
using Relay.Load.Scenarios;

namespace Relay.Load;

/// <summary>
/// The performance targets, evaluated against this run's own baselines and printed PASS / MISS (with the margin) /
/// SKIP. They are shown, not asserted: numbers vary with the machine; ledgers are what fail a run.
/// </summary>
internal static class Targets
{
    public const string Pass = "PASS";
    public const string Miss = "MISS";
    public const string Skip = "SKIP";

    /// <summary>The figures of the Ratios table, in its row order; each store's verdict on one fills a cell.</summary>
    public const string IngestFigure = "durable ingest, max rps ÷ YARP rps";
    public const string FanOutFigure = "fan-out to 3 sinks, deliveries/s ÷ YARP rps";
    public const string AckP99Figure = "p99 ack at half of max";
    public const string DeliveryP99Figure = "delivery p99 at half of max (worst sink)";
    public const string RssFigure = "peak relay RSS at half of max";

    public static readonly IReadOnlyList<string> Figures = [IngestFigure, FanOutFigure, AckP99Figure, DeliveryP99Figure, RssFigure];

    private const double MaxAckP99Ms = 10;
    private const double MaxDeliveryP99Ms = 500;
    private const double MaxProbeP99Ms = 1000;

    /// <summary>The conditions scenario's bar: a when on every route costs at most 10% of ingest throughput.</summary>
    private const double MinConditionsRatio = 0.90;

    /// <param name="smoke">A smoke run's steps are too short to judge a ratio of two throughputs, or an overload: shown or skipped, not judged.</param>
    public static IReadOnlyList<TargetVerdict> Evaluate(IReadOnlyList<RunStats> baselines, IReadOnlyList<ScenarioResult> scenarios, bool smoke = false)
    {
        var yarp = baselines.FirstOrDefault(b => b.Name == LatencyReport.YarpBaseline)?.Rps;
        var verdicts = new List<TargetVerdict>
        {
            Throughput(scenarios, BenchSettings.Redis, yarp),
            Throughput(scenarios, BenchSettings.Garnet, yarp),
        };

        foreach (var store in (string[])[BenchSettings.Redis, BenchSettings.Garnet])
        {
            var bars = StoreBars.Of(store);
            var name = $"ingest on {store}: p99 ack ≤ {MaxAckP99Ms:0} ms at half of the relay's max rate";
            var ackBar = $"≤ {MaxAckP99Ms:0} ms";
            verdicts.Add(Find(scenarios, store, "ingest", "50% of max") is { } half
                ? AtMost(name, half.Load.Latency.P99, MaxAckP99Ms, "ms", $"p99 {Ms(half.Load.Latency.P99)} at {half.Load.Rps:0} rps")
                    .In(AckP99Figure, store, Ms(half.Load.Latency.P99), ackBar)
                : NotMeasured(name, AckP99Figure, store, ackBar));

            name = $"end-to-end on {store}, 3 sinks: sustained deliveries/s ≥ {bars.DeliveriesShare:0.0}× YARP rps";
            var deliveriesBar = $"≥ {bars.DeliveriesShare:0.0}×";
            var e2e = Find(scenarios, store, "end-to-end", EndToEndScenario.SustainedStep);
            verdicts.Add(e2e?.Ledger.EventsDeliveredPerSecond is { } perSecond && yarp is > 0
                ? AtLeast(name, perSecond * 3 / yarp.Value, bars.DeliveriesShare, $"{perSecond * 3:0} deliveries/s ({perSecond:0} events/s reached all 3 sinks) = {perSecond * 3 / yarp.Value:0.00}× YARP ({yarp:0} rps), offered {e2e.Load.Model}")
                    .In(FanOutFigure, store, Times(perSecond * 3 / yarp.Value), deliveriesBar)
                : NotMeasured(name, FanOutFigure, store, deliveriesBar));

            var halfOfMax = Find(scenarios, store, "end-to-end", EndToEndScenario.HalfOfMaxStep);
            name = $"end-to-end on {store} at 50% of max: delivery p99 ≤ {MaxDeliveryP99Ms:0} ms at every sink";
            var deliveryBar = $"≤ {MaxDeliveryP99Ms:0} ms";
            verdicts.Add(halfOfMax is { Ledger.Sinks: [_, ..] sinks }
                ? DeliveryLatency(name, sinks, halfOfMax).In(DeliveryP99Figure, store, Ms(sinks.Max(s => s.Latency.P99)), deliveryBar)
                : NotMeasured(name, DeliveryP99Figure, store, deliveryBar));

            name = $"conditions on {store}: ingest with a when on every route ≥ {MinConditionsRatio:0.00}× the same routes without";
            var conditions = scenarios.FirstOrDefault(s => s.Store == store && s.Scenario == Scenarios.ConditionsScenario.ScenarioName);
            verdicts.Add(conditions is not null && Scenarios.ConditionsScenario.Ratio(conditions.Steps) is { } ratio
                ? smoke
                    ? new TargetVerdict(name, Skip, $"smoke run, not judged: {ratio.With:0} rps vs {ratio.Without:0} rps = {ratio.Value:0.00}×")
                    : AtLeast(name, ratio.Value, MinConditionsRatio, $"{ratio.With:0} rps with, {ratio.Without:0} rps without = {ratio.Value:0.00}× (mean of {conditions.Steps.Count / 2} run(s) each, alternated)")
                : new TargetVerdict(name, Skip, "not measured"));

            name = $"end-to-end on {store} at 50% of max: relay RSS ≤ {bars.MaxRssMb:0} MB";
            var rssBar = $"≤ {bars.MaxRssMb:0} MB";
            verdicts.Add(halfOfMax is { MaxRssMb: { } rss }
                ? AtMost(name, rss, bars.MaxRssMb, "MB", $"max {rss:0} MB at {halfOfMax.Load.Rps:0} rps").In(RssFigure, store, $"{rss:0} MB", rssBar)
                : NotMeasured(name, RssFigure, store, rssBar));

            name = $"ordering on {store}: end-to-end events/s with ordering: key ≥ {OrderingScenario.MinShare:0.00}× without";
            var ordering = scenarios.FirstOrDefault(s => s.Store == store && s.Scenario == "ordering");
            verdicts.Add(ordering is null ? new TargetVerdict(name, Skip, "not measured")
                : OrderingScenario.Cost.Of(ordering.Steps) is { } cost ? AtLeast(name, cost.Share, OrderingScenario.MinShare, cost.Line())
                : new TargetVerdict(name, Skip, "needs both sides; the smoke run has only the ordered step"));

            verdicts.AddRange(Overload(scenarios, store, smoke));
        }

        return verdicts;
    }

    /// <summary>What the slow-target scenario shows: the healthy sinks' latency beside the same sinks with nobody slow.</summary>
    public static IEnumerable<string> Observations(IReadOnlyList<ScenarioResult> scenarios)
    {
        foreach (var slow in scenarios.Where(s => s.Scenario == "slow-target" && s.Steps.Count > 0))
        {
            var healthy = Find(scenarios, slow.Store, "end-to-end", "50% of max");
            var step = slow.Steps[0];
            var sinks = step.Ledger.Sinks.Take(step.Ledger.Sinks.Count - 1).Select(s =>
            {
                var before = healthy?.Ledger.Sinks.FirstOrDefault(h => h.Sink == s.Sink);
                return $"{s.Sink} p99 {Ms(s.Latency.P99)}" + (before is null ? "" : $" (all healthy: {Ms(before.Latency.P99)})");
            });
            yield return $"slow-target on {slow.Store}: {string.Join(", ", sinks)}; relay RSS max {step.MaxRssMb:0} MB"
                + (healthy?.MaxRssMb is { } rss ? $" (all healthy: {rss:0} MB)" : "") + ".";
        }
    }

    /// <summary>At twice the relay's maximum rate: every ack within the ack budget, and pass-through and admin still answering.</summary>
    private static IEnumerable<TargetVerdict> Overload(IReadOnlyList<ScenarioResult> scenarios, string store, bool smoke)
    {
        var budget = Scenarios.OverloadScenario.AckBudget.TotalMilliseconds;
        var acks = $"overload on {store} at 2× max: every ack within ingress.ackBudget ({budget:0} ms)";
        var others = $"overload on {store}: pass-through and admin p99 ≤ {MaxProbeP99Ms:0} ms";
        var step = Find(scenarios, store, "overload", Scenarios.OverloadScenario.StepName);
        if (step is null || smoke)
        {
            var why = step is null ? "not measured" : "smoke run: seconds of overload are too short to judge";
            yield return new TargetVerdict(acks, Skip, why);
            yield return new TargetVerdict(others, Skip, why);
            yield break;
        }

        var ok = step.Load.OkLatency;
        var outcomes = step.Ledger.RelayOutcomes;
        yield return AtMost(
            acks, ok.Max, budget, "ms",
            $"{step.Load.Ok} acked, p99 {Ms(ok.P99)}, max {Ms(ok.Max)}; {step.Load.Failures.GetValueOrDefault("HTTP 503")} answered 503 "
            + $"(late {outcomes.GetValueOrDefault("late")}, overloaded {outcomes.GetValueOrDefault("overloaded")}); the relay timed {step.RelayAcksOverBudget} acks over the budget; offered {step.Load.Model}");

        var under = step.Probes.Where(p => p.Name.EndsWith(Scenarios.OverloadScenario.UnderOverload, StringComparison.Ordinal)).ToList();
        var detail = string.Join(", ", step.Probes.Select(p => $"{p.Name} p99 {Ms(p.Latency.P99)}" + (p.Failed > 0 ? $" ({p.Failed} failed)" : "")));
        yield return under.Count == 0
            ? new TargetVerdict(others, Skip, "not measured")
            : AtMost(others, under.Max(p => p.Latency.P99), MaxProbeP99Ms, "ms", detail);
    }

    private static TargetVerdict Throughput(IReadOnlyList<ScenarioResult> scenarios, string store, double? yarp)
    {
        var share = StoreBars.Of(store).IngestShare;
        var name = $"ingest on {store}: max throughput ≥ {share:0.0}× YARP";
        var bar = $"≥ {share:0.0}×";
        return Find(scenarios, store, "ingest", "max throughput") is { } max && yarp is > 0
            ? AtLeast(name, max.Load.Rps / yarp.Value, share, $"{max.Load.Rps:0} rps = {max.Load.Rps / yarp.Value:0.00}× YARP ({yarp:0} rps)")
                .In(IngestFigure, store, Times(max.Load.Rps / yarp.Value), bar)
            : NotMeasured(name, IngestFigure, store, bar);
    }

    /// <summary>Delivery keeps up: the slowest sink's p99 from scheduled send to arrival, the other sinks' beside it.</summary>
    private static TargetVerdict DeliveryLatency(string name, IReadOnlyList<SinkTally> sinks, StepResult step)
    {
        var worst = sinks.MaxBy(s => s.Latency.P99)!;
        var detail = $"worst {worst.Sink} p99 {Ms(worst.Latency.P99)} ({string.Join(", ", sinks.Select(s => $"{s.Sink} {Ms(s.Latency.P99)}"))}) at {step.Load.Rps:0} rps for {step.Load.Seconds:0} s";
        return AtMost(name, worst.Latency.P99, MaxDeliveryP99Ms, "ms", detail);
    }

    private static TargetVerdict NotMeasured(string name, string figure, string store, string bar) =>
        new TargetVerdict(name, Skip, "not measured").In(figure, store, "not measured", bar);

    private static TargetVerdict In(this TargetVerdict verdict, string figure, string store, string value, string bar) =>
        verdict with { Cell = new RatioCell(figure, store, value, bar) };

    private static TargetVerdict AtLeast(string name, double ratio, double wanted, string detail) => ratio >= wanted
        ? new TargetVerdict(name, Pass, detail)
        : new TargetVerdict(name, Miss, $"{detail}; short by {(1 - (ratio / wanted)) * 100:0}% of the target");

    private static TargetVerdict AtMost(string name, double value, double limit, string unit, string detail) => value <= limit
        ? new TargetVerdict(name, Pass, detail)
        : new TargetVerdict(name, Miss, string.Create(CultureInfo.InvariantCulture, $"{detail}; over by {value - limit:0.#} {unit} ({((value / limit) - 1) * 100:0}%)"));

    private static StepResult? Find(IReadOnlyList<ScenarioResult> scenarios, string store, string scenario, string step) =>
        scenarios.FirstOrDefault(s => s.Store == store && s.Scenario == scenario)?.Steps.FirstOrDefault(s => s.Step.EndsWith(step, StringComparison.Ordinal));

    private static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms";

    private static string Times(double ratio) => ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    /// <summary>
    /// The bars that differ by store. The embedded store runs inside the relay's process and on its cores, so it gets
    /// lower throughput shares and more memory than Redis, which runs (and is counted) apart.
    /// </summary>
    private sealed record StoreBars(double IngestShare, double DeliveriesShare, double MaxRssMb)
    {
        private static readonly StoreBars Redis = new(1.0, 1.0, 150);
        private static readonly StoreBars Garnet = new(0.8, 0.8, 250);

        public static StoreBars Of(string store) => store == BenchSettings.Redis ? Redis : Garnet;
    }
}
