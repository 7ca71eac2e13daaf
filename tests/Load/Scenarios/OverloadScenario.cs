using System.Globalization;

namespace Relay.Load.Scenarios;

/// <summary>
/// Overload: routed callbacks offered at twice the relay's maximum ingest rate (open model) for 30 s, 2 s in a smoke
/// run. The relay must keep every ack it gives within <c>ingress.ackBudget</c> (the default, 1 s) by answering
/// 503 early to what it cannot ack in time, deliver every event it acked, store none it refused, and keep answering
/// pass-through and admin requests. Those are sampled at <see cref="ProbeRate"/> a second each (open model, their own
/// connections), first on the idle relay (not in a smoke run), then through the overload.
/// </summary>
internal sealed class OverloadScenario : IScenario
{
    public const string StepName = "2× max";

    public const string PassThrough = "pass-through";
    public const string Admin = "admin";
    public const string Idle = "idle";
    public const string UnderOverload = "under overload";

    /// <summary>The relay's <c>ingress.ackBudget</c>: the generated relay.yaml leaves the default.</summary>
    public static readonly TimeSpan AckBudget = TimeSpan.FromSeconds(1);

    /// <summary>The bucket bound of relay_ingress_ack_duration_seconds that is the budget.</summary>
    private const string AckBudgetBucket = "1";

    private const double ProbeRate = 10;

    private static readonly TimeSpan FullLength = TimeSpan.FromSeconds(30);

    /// <summary>A smoke run's overload: enough to fill the queue and refuse, short enough for CI (each store starts a relay for it).</summary>
    private static readonly TimeSpan SmokeLength = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan IdleLength = TimeSpan.FromSeconds(5);

    public string Name => "overload";

    /// <summary>
    /// A smoke run overloads the first store only: the admission under test is the same on every store, and each
    /// store's run costs a fresh relay and its drain, which CI pays for on every change.
    /// </summary>
    public bool RunsOn(BenchSettings settings, string store) => !settings.Smoke || store == settings.Stores[0];

    public async Task<IReadOnlyList<StepResult>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        var length = settings.Smoke ? SmokeLength : FullLength;
        using var probes = LoadClients.Create(context.Relay.Url);

        // The idle numbers are what the overload's are judged against; a smoke run judges nothing.
        var idle = settings.Smoke ? [] : await ProbeAsync(probes, Idle, IdleLength).ConfigureAwait(false);

        var before = await RelayCounters.ReadAsync(context.RelayClient, context.Relay.Url).ConfigureAwait(false);
        var rate = context.MaxIngestRate * 2;
        var requests = (long)(rate * length.TotalSeconds) + 1;
        IReadOnlyList<RunStats> during = [];
        var step = await context.RunStepAsync(
            new StepPlan(StepName, YousignCallbacks.RoutedEvent, ExpectsDeliveries: true, requests, requests),
            async workload =>
            {
                var probing = ProbeAsync(probes, UnderOverload, length);
                var load = await OpenModelLoad.RunAsync("relay overload", context.RelayClient, workload, rate, length).ConfigureAwait(false);
                during = await probing.ConfigureAwait(false);
                return load;
            }).ConfigureAwait(false);

        // A refused request is answered before the store is touched, so the relay keeps exactly the events it acked.
        var ledger = step.Ledger;
        if (ledger.RelayNewEvents != ledger.AckedEvents)
        {
            var problem = $"the relay stored {ledger.RelayNewEvents} new events and acked {ledger.AckedEvents}: a refused request reached the store";
            Console.WriteLine("    ledger: FAILED: " + problem);
            ledger = ledger with { Problems = [.. ledger.Problems, problem] };
        }

        var after = await RelayCounters.ReadAsync(context.RelayClient, context.Relay.Url).ConfigureAwait(false);
        step = step with { Ledger = ledger, Probes = [.. idle, .. during], RelayAcksOverBudget = after.AcksOver(AckBudgetBucket) - before.AcksOver(AckBudgetBucket) };
        Console.WriteLine(Line(step));
        foreach (var probe in step.Probes)
        {
            Console.WriteLine(LatencyReport.Line($"{context.Store} {probe.Name}", probe));
        }

        return [step];
    }

    /// <summary>The console line: acks given and their latency against the budget, and the 503s by the relay's reason.</summary>
    public static string Line(StepResult step)
    {
        var load = step.Load;
        var outcomes = step.Ledger.RelayOutcomes;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"    overload: acked {load.Ok} (p50 {load.OkLatency.P50:0.0} p99 {load.OkLatency.P99:0.0} max {load.OkLatency.Max:0.0} ms, budget {AckBudget.TotalMilliseconds:0} ms; the relay timed {step.RelayAcksOverBudget} over it), "
            + $"503 {load.Failures.GetValueOrDefault("HTTP 503")} (late {outcomes.GetValueOrDefault("late")}, overloaded {outcomes.GetValueOrDefault("overloaded")}), other failures {load.Failed - load.Failures.GetValueOrDefault("HTTP 503")}");
    }

    /// <summary>Pass-through and admin requests side by side, each at <see cref="ProbeRate"/> a second for <paramref name="length"/>.</summary>
    private static async Task<IReadOnlyList<RunStats>> ProbeAsync(HttpClient client, string label, TimeSpan length)
    {
        var count = (long)(ProbeRate * length.TotalSeconds) + 1;
        var passThrough = OpenModelLoad.RunAsync($"{PassThrough} {label}", client, new Workload(static (_, _) => new HttpRequestMessage(HttpMethod.Get, "/load-probe"), null, count), ProbeRate, length);
        var admin = OpenModelLoad.RunAsync($"{Admin} {label}", client, new Workload(static (_, _) => AdminRequest(), null, count), ProbeRate, length);
        return await Task.WhenAll(passThrough, admin).ConfigureAwait(false);
    }

    private static HttpRequestMessage AdminRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/targets");
        request.Headers.Authorization = new("Bearer", RelayConfigFile.AdminKey);
        return request;
    }
}
