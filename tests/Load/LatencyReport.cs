using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HdrHistogram;

namespace Relay.Load;

/// <summary>Latency percentiles in milliseconds, read from a microsecond HdrHistogram.</summary>
internal sealed record LatencyStats(long Count, double Mean, double P50, double P75, double P95, double P99, double Max)
{
    public static LatencyStats From(HistogramBase histogram) => histogram.TotalCount == 0
        ? new LatencyStats(0, 0, 0, 0, 0, 0, 0)
        : new LatencyStats(
            histogram.TotalCount,
            histogram.GetMean() / 1000,
            histogram.GetValueAtPercentile(50) / 1000.0,
            histogram.GetValueAtPercentile(75) / 1000.0,
            histogram.GetValueAtPercentile(95) / 1000.0,
            histogram.GetValueAtPercentile(99) / 1000.0,
            histogram.GetMaxValue() / 1000.0);
}

/// <summary>One load run, NBomber-style: ok and failed requests, requests per second, latency percentiles.</summary>
/// <param name="Latency">Every answer's latency, failures included.</param>
/// <param name="OkLatency">The successful (2xx) answers' latency alone: what an acked vendor waited.</param>
internal sealed record RunStats(
    string Name, string Model, long Ok, long Failed, double Rps, double Seconds, LatencyStats Latency, LatencyStats OkLatency, IReadOnlyDictionary<string, long> Failures);

/// <summary>CPU seconds the relay and, with Redis, redis-server used from a step's start until every acked event had reached every sink.</summary>
internal sealed record CpuUse(double RelaySeconds, double? StoreSeconds)
{
    public double Seconds => RelaySeconds + (StoreSeconds ?? 0);
}

/// <summary>
/// One step of a scenario: its load, its closed ledger, the relay's peak memory, baselines run at the same rate, the
/// CPU the relay and its store used, and for a step whose events share ordering keys, its order check.
/// </summary>
internal sealed record StepResult(
    string Step, RunStats Load, LedgerResult Ledger, double? MaxRssMb, IReadOnlyList<RunStats> BaselinesAtRate, CpuUse? Cpu = null, OrderResult? Order = null)
{
    /// <summary>Relay and store CPU milliseconds per event that reached all sinks; null when none did or CPU was not read.</summary>
    public double? CpuMsPerEvent => Cpu is not null && Ledger.AllSinks is { Count: > 0 } all ? Cpu.Seconds * 1000 / all.Count : null;

    /// <summary>
    /// Where the CPU went, per event that reached all sinks (per acked event when none was delivered): the relay's
    /// process (the embedded store included) and redis-server's. With every process on the same cores, this is what
    /// bounds the rate: 1000 ms per core over the sum.
    /// </summary>
    public string? CpuLine
    {
        get
        {
            var events = Ledger.AllSinks is { Count: > 0 } all ? all.Count : Ledger.AckedEvents;
            if (Cpu is null || events == 0)
            {
                return null;
            }

            var per = Ledger.AllSinks is { Count: > 0 } ? "event delivered" : "event acked";
            return string.Create(CultureInfo.InvariantCulture, $"CPU ms/{per}: relay {Cpu.RelaySeconds * 1000 / events:0.000}")
                + (Cpu.StoreSeconds is { } store ? string.Create(CultureInfo.InvariantCulture, $" + redis-server {store * 1000 / events:0.000}") : "");
        }
    }

    /// <summary>Why the step failed: its ledger's problems, then its order check's; none when it passed.</summary>
    public IReadOnlyList<string> Problems => [.. Ledger.Problems, .. Order?.Problems ?? []];

    /// <summary>Other requests to the relay sampled beside the step (pass-through, admin), and the same on an idle relay.</summary>
    public IReadOnlyList<RunStats> Probes { get; init; } = [];

    /// <summary>Acks the relay itself timed at over the ack budget (its ack-duration histogram), where a step measures it.</summary>
    public long? RelayAcksOverBudget { get; init; }
}

internal sealed record ScenarioResult(string Store, string Scenario, IReadOnlyList<StepResult> Steps, string? Error)
{
    public bool Passed => Error is null && Steps.All(s => s.Problems.Count == 0);
}

internal sealed record TargetVerdict(string Target, string Verdict, string Detail)
{
    /// <summary>Where the verdict goes in the report's Ratios table, for the targets that table shows; null for the others.</summary>
    public RatioCell? Cell { get; init; }
}

/// <summary>One cell of the Ratios table: the <paramref name="Figure"/> (its row) measured on <paramref name="Store"/> (its column), in short, and its bar.</summary>
internal sealed record RatioCell(string Figure, string Store, string Value, string Bar);

internal sealed record BenchReport(
    string Mode, string Machine, DateTimeOffset At, IReadOnlyList<RunStats> Baselines, PhysicalLimits Limits, IReadOnlyList<ScenarioResult> Scenarios,
    IReadOnlyList<TargetVerdict> Targets, IReadOnlyList<string> Notes);

/// <summary>
/// Renders a <see cref="BenchReport"/> as markdown (for people, ratios to the baselines included) and JSON (for
/// tools), and keeps the histogram settings in one place.
/// </summary>
internal static class LatencyReport
{
    public const string KestrelBaseline = "bare Kestrel";
    public const string YarpBaseline = "YARP pass-through";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Microseconds from 1 µs to one hour, three significant digits.</summary>
    public static LongConcurrentHistogram NewHistogram() => new(1, 3_600_000_000, 3);

    public static async Task<(string Markdown, string Json)> WriteAsync(BenchReport report, string folder)
    {
        Directory.CreateDirectory(folder);
        var stamp = report.At.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var markdownPath = Path.Combine(folder, $"bench-{report.Mode}-{stamp}.md");
        var jsonPath = Path.ChangeExtension(markdownPath, ".json");
        await File.WriteAllTextAsync(markdownPath, Markdown(report)).ConfigureAwait(false);
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
        return (markdownPath, jsonPath);
    }

    public static string Markdown(BenchReport report)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Relay load benchmark ({report.Mode})").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{report.At:yyyy-MM-dd HH:mm} UTC, {report.Machine}. Latencies in ms; RPS = acknowledged requests per second.").AppendLine();

        var kestrel = report.Baselines.FirstOrDefault(b => b.Name == KestrelBaseline);
        var yarp = report.Baselines.FirstOrDefault(b => b.Name == YarpBaseline);
        md.AppendLine("## Baselines (same machine, same run)").AppendLine();
        Table(md, ["run", "model", "ok", "fail", "RPS", "p50", "p75", "p95", "p99", "max"], report.Baselines.Select(b => (IReadOnlyList<string>)[b.Name, b.Model, .. LoadColumns(b)]));

        PhysicalLimitsSection(md, report.Limits);
        md.AppendLine("## Relay: acknowledgements").AppendLine();
        md.AppendLine("Closed-model rows compare RPS with the baselines' maximum; open-model rows compare p99 with the baselines run at the same rate.").AppendLine();
        var ackRows = new List<IReadOnlyList<string>>();
        foreach (var (scenario, step) in Steps(report))
        {
            var closed = step.Load.Model.StartsWith("closed", StringComparison.Ordinal);
            var atRate = (string name) => step.BaselinesAtRate.FirstOrDefault(b => b.Name == name);
            ackRows.Add([
                scenario.Store, scenario.Scenario, step.Step, step.Load.Model, .. LoadColumns(step.Load),
                closed ? Ratio(step.Load.Rps, kestrel?.Rps) : "",
                closed ? Ratio(step.Load.Rps, yarp?.Rps) : "",
                closed ? "" : Ratio(step.Load.Latency.P99, atRate(KestrelBaseline)?.Latency.P99),
                closed ? "" : Ratio(step.Load.Latency.P99, atRate(YarpBaseline)?.Latency.P99),
            ]);
        }

        Table(md, ["store", "scenario", "step", "model", "ok", "fail", "RPS", "p50", "p75", "p95", "p99", "max", "RPS × Kestrel", "RPS × YARP", "p99 × Kestrel", "p99 × YARP"], ackRows);

        var atRateRows = Steps(report).SelectMany(s => s.Step.BaselinesAtRate.Select(b => (IReadOnlyList<string>)[s.Scenario.Store, s.Step.Step, b.Name, b.Model, .. LoadColumns(b)])).ToList();
        if (atRateRows.Count > 0)
        {
            md.AppendLine("### Baselines at the relay's rates").AppendLine();
            Table(md, ["store", "step", "baseline", "model", "ok", "fail", "RPS", "p50", "p75", "p95", "p99", "max"], atRateRows);
        }

        md.AppendLine("## Relay: deliveries (scheduled send → arrival at the sink)").AppendLine();
        var deliveryRows = new List<IReadOnlyList<string>>();
        foreach (var (scenario, step) in Steps(report).Where(s => s.Step.Ledger.AllSinks is not null))
        {
            foreach (var sink in step.Ledger.Sinks)
            {
                deliveryRows.Add([scenario.Store, scenario.Scenario, step.Step, sink.Sink, Count(sink.Delivered), Count(sink.Redelivered), Count(sink.DoubleAccepted), .. Percentiles(sink.Latency), ""]);
            }

            deliveryRows.Add([scenario.Store, scenario.Scenario, step.Step, "all sinks", Count(step.Ledger.AllSinks!.Count), "", "", .. Percentiles(step.Ledger.AllSinks!), Number(step.Ledger.EventsDeliveredPerSecond)]);
        }

        Table(md, ["store", "scenario", "step", "sink", "delivered", "redelivered", "double", "p50", "p75", "p95", "p99", "max", "events/s to all sinks"], deliveryRows);

        var overloadRows = Steps(report).Where(s => s.Scenario.Scenario == "overload").Select(s => (IReadOnlyList<string>)[
            s.Scenario.Store, s.Step.Load.Model, Count(s.Step.Load.Ok), .. Percentiles(s.Step.Load.OkLatency),
            Count(s.Step.Load.Failures.GetValueOrDefault("HTTP 503")), Count(s.Step.Ledger.RelayOutcomes.GetValueOrDefault("late")),
            Count(s.Step.Ledger.RelayOutcomes.GetValueOrDefault("overloaded")), s.Step.RelayAcksOverBudget is { } over ? Count(over) : ""]).ToList();
        if (overloadRows.Count > 0)
        {
            md.AppendLine("## Relay: overload").AppendLine();
            md.AppendLine("Acked requests' latency (scheduled send → 2xx answer) against ingress.ackBudget, and the 503s by the relay's reason: `late` (no turn while it could still be acked in time), `overloaded` (every turn taken and the queue full). *Relay over budget*: acks the relay itself timed at over the budget, from the request's start in the relay; the rest of a vendor's wait passes before the relay sees the request (connection, socket, thread pool) or after it answers.").AppendLine();
            Table(md, ["store", "offered", "acked", "ack p50", "ack p75", "ack p95", "ack p99", "ack max", "503", "late", "overloaded", "relay over budget"], overloadRows);
            md.AppendLine("Pass-through (to the bare Kestrel app) and admin (`GET /admin/targets`) requests, 10 a second each, on the idle relay and through the overload:").AppendLine();
            Table(md, ["store", "requests", "model", "ok", "fail", "RPS", "p50", "p75", "p95", "p99", "max"], Steps(report).SelectMany(s => s.Step.Probes.Select(p => (IReadOnlyList<string>)[s.Scenario.Store, p.Name, p.Model, .. LoadColumns(p)])));
        }

        md.AppendLine("## Ledgers").AppendLine();
        md.AppendLine("sent = distinct events sent; acked = distinct events acknowledged; relay new = events the relay counted as new (/metrics); per sink: delivered (dead-lettered); pending = still queued at the end.").AppendLine();
        var sinkNames = Steps(report).SelectMany(s => s.Step.Ledger.Sinks.Select(k => k.Sink)).Distinct().ToList();
        var ledgerRows = Steps(report).Select(s => (IReadOnlyList<string>)[
            s.Scenario.Store, s.Scenario.Scenario, s.Step.Step, Count(s.Step.Ledger.SentEvents), Count(s.Step.Ledger.Requests), Count(s.Step.Ledger.AckedEvents),
            Count(s.Step.Ledger.RelayNewEvents), Count(s.Step.Ledger.RelayDuplicates),
            .. sinkNames.Select(n => s.Step.Ledger.Sinks.FirstOrDefault(k => k.Sink == n) is { } k ? $"{Count(k.Delivered)} ({k.Dead})" : ""),
            Count(s.Step.Ledger.Pending), s.Step.MaxRssMb is { } rss ? rss.ToString("0", CultureInfo.InvariantCulture) : "", s.Step.CpuLine ?? "",
            s.Step.Ledger.Balanced ? "balanced" : "FAILED: " + string.Join("; ", s.Step.Ledger.Problems)]).ToList();
        Table(md, ["store", "scenario", "step", "sent", "requests", "acked", "relay new", "relay dup", .. sinkNames, "pending", "relay RSS max MB", "CPU", "ledger"], ledgerRows);

        var orderRows = Steps(report).Where(s => s.Step.Order is not null).Select(s => (IReadOnlyList<string>)[
            s.Scenario.Store, s.Step.Step, Number(s.Step.Ledger.EventsDeliveredPerSecond), Number(s.Step.Load.Rps),
            s.Step.CpuMsPerEvent is { } cpu ? cpu.ToString("0.00", CultureInfo.InvariantCulture) : "",
            .. sinkNames.Select(n => s.Step.Order!.Sinks.FirstOrDefault(k => k.Sink == n) is { } k ? $"{Count(k.OutOfOrder)} / {Count(k.Overlapping)} ({k.MaxInFlightPerKey})" : ""),
            !s.Step.Order!.Enforced ? "reported only" : s.Step.Order.Held ? "held" : "FAILED: " + string.Join("; ", s.Step.Order.Problems)]).ToList();
        if (orderRows.Count > 0)
        {
            md.AppendLine("## Ordered delivery").AppendLine();
            md.AppendLine("Per sink: events out of order / deliveries that overlapped another of their key (most of one key in flight at once). Events/s reached all sinks, from the first send to the last arrival; acked RPS is the load's; CPU is the relay's and redis-server's from the step's start until every acked event had reached every sink, per event that reached all sinks.").AppendLine();
            Table(md, ["store", "step", "events/s to all sinks", "acked RPS", "CPU ms/event", .. sinkNames, "order"], orderRows);
            foreach (var scenario in report.Scenarios.Where(s => s.Steps.Any(step => step.Order is not null)))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {scenario.Store}: {Scenarios.OrderingScenario.Summary(scenario.Steps)}");
            }

            md.AppendLine();
        }

        var errors = report.Scenarios.Where(s => s.Error is not null).ToList();
        if (errors.Count > 0)
        {
            md.AppendLine("## Scenarios that did not finish").AppendLine();
            foreach (var s in errors)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {s.Store} {s.Scenario}: {s.Error}");
            }

            md.AppendLine();
        }

        RatiosSection(md, report, yarp?.Rps);
        md.AppendLine("## Targets").AppendLine();
        foreach (var target in report.Targets)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- **{target.Verdict}** {target.Target}: {target.Detail}");
        }

        md.AppendLine();
        if (report.Notes.Count > 0)
        {
            md.AppendLine("## Notes").AppendLine();
            foreach (var note in report.Notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        return md.ToString();
    }

    /// <summary>One console line for a finished run, printed as the benchmark goes.</summary>
    public static string Line(string label, RunStats run)
    {
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"  {label,-34} {run.Model,-34} ok {run.Ok,8} fail {run.Failed,6}  {run.Rps,8:0} rps  p50 {run.Latency.P50,7:0.00}  p99 {run.Latency.P99,8:0.00}  max {run.Latency.Max,8:0.0} ms");
        return run.Failures.Count == 0 ? line : line + "  (" + string.Join(", ", run.Failures.Select(f => $"{f.Key}: {f.Value}")) + ")";
    }

    private static void PhysicalLimitsSection(StringBuilder md, PhysicalLimits limits)
    {
        md.AppendLine("## Physical limits").AppendLine();
        md.AppendLine(PhysicalLimits.Meaning).AppendLine();
        var store = limits.StoreAccept;
        Table(md, ["limit", "per second", "p50", "p99", "how"], [
            ["store accept: Redis, appendfsync always, accept.lua via redis-benchmark", store.Rps is { } rps ? Number(rps) : "skipped",
                store.P50Ms is { } p50 ? Ms(p50) : "", store.P99Ms is { } p99 ? Ms(p99) : "", store.Detail],
            ["bare Kestrel, closed model", limits.KestrelRps is { } kestrel ? Number(kestrel) : "not measured", "", "", "the baseline above"],
        ]);
    }

    /// <summary>
    /// The targets' figures per store in one compact table, meant to be copied into the main README: each cell is the
    /// figure, its bar and the verdict.
    /// </summary>
    private static void RatiosSection(StringBuilder md, BenchReport report, double? yarpRps)
    {
        var cells = report.Targets.Where(t => t.Cell is not null).ToList();
        if (cells.Count == 0)
        {
            return;
        }

        md.AppendLine("## Ratios").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{report.Mode} run, {report.At:yyyy-MM-dd}, {report.Machine}; YARP pass-through {Number(yarpRps)} rps. Each cell: measured (target) verdict.").AppendLine();
        IReadOnlyList<string> stores = [Load.BenchSettings.Redis, Load.BenchSettings.Garnet];
        var rows = Load.Targets.Figures.Select(figure => (IReadOnlyList<string>)[
            figure,
            .. stores.Select(store => cells.FirstOrDefault(t => t.Cell!.Figure == figure && t.Cell.Store == store) is { } t ? $"{t.Cell!.Value} ({t.Cell.Bar}) {t.Verdict}" : ""),
        ]);
        Table(md, ["figure", "Redis (appendfsync always)", "embedded store (Garnet)"], rows);
    }

    private static IEnumerable<(ScenarioResult Scenario, StepResult Step)> Steps(BenchReport report) =>
        report.Scenarios.SelectMany(s => s.Steps.Select(step => (s, step)));

    private static IEnumerable<string> LoadColumns(RunStats run) =>
        [Count(run.Ok), Count(run.Failed), Number(run.Rps), .. Percentiles(run.Latency)];

    private static IEnumerable<string> Percentiles(LatencyStats l) => [Ms(l.P50), Ms(l.P75), Ms(l.P95), Ms(l.P99), Ms(l.Max)];

    private static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string Count(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Number(double? n) => n is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "";

    private static string Ratio(double value, double? baseline) =>
        baseline is > 0 ? (value / baseline.Value).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "";

    private static void Table(StringBuilder md, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        md.Append("| ").AppendJoin(" | ", headers).AppendLine(" |");
        md.Append('|').AppendJoin("", headers.Select(_ => "---|")).AppendLine();
        foreach (var row in rows)
        {
            md.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        }

        md.AppendLine();
    }
}
