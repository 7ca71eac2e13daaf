using System.Diagnostics;
using System.Globalization;
using Relay.Tests.Infrastructure;

namespace Relay.Load.Scenarios;

/// <summary>One step of a scenario: which events it sends, how many, and whether they are meant to reach the sinks.</summary>
/// <param name="Requests">Upper bound on requests (a closed-model run stops there).</param>
/// <param name="Events">Distinct events the step may use; fewer than requests when events repeat.</param>
/// <param name="EventOf">Maps request index to event index; identity when every request is a new event.</param>
/// <param name="OrderingKeys">
/// When set, event index <c>i</c> belongs to signature request (Yousign's ordering key) <c>i mod OrderingKeys</c>, and the
/// sinks check the order each key's events arrive in (<see cref="OrderCheck"/>); otherwise every event has its own.
/// </param>
internal sealed record StepPlan(string Name, string EventName, bool ExpectsDeliveries, long Requests, long Events, Func<long, long>? EventOf = null, int? OrderingKeys = null);

/// <summary>
/// Everything a scenario works with on one store variant: the three sinks, the relay under test (a fresh one per
/// scenario, see <see cref="StartRelayAsync"/>), the load client, the baselines, and the rates measured so far. It
/// runs a step end to end: counters before, load, drain, counters after, ledger closed.
/// </summary>
internal sealed class BenchContext : IAsyncDisposable
{
    private readonly List<FakeTarget> _sinks = [];
    private RedisServerProcess? _redis;
    private Ledger? _current;
    private long _nextEvent = 1;
    private string _connection = "";
    private string _scenarioFolder = "";
    private int _restarts;
    private bool _relayUsed;

    private BenchContext(BenchSettings settings, string store, BaselineServers baselines, YousignCallbacks callbacks)
    {
        Settings = settings;
        Store = store;
        Baselines = baselines;
        Callbacks = callbacks;
    }

    public BenchSettings Settings { get; }

    public string Store { get; }

    public BaselineServers Baselines { get; }

    public YousignCallbacks Callbacks { get; }

    public RelayProcess Relay { get; private set; } = null!;

    public HttpClient RelayClient { get; private set; } = null!;

    /// <summary>Whether the running relay's targets have <c>ordering: key</c>.</summary>
    public bool RelayOrderedByKey { get; private set; }

    public IReadOnlyList<FakeTarget> Sinks => _sinks;

    /// <summary>The folder of the running relay's config, data and log.</summary>
    public string RelayFolder { get; private set; } = "";

    /// <summary>Acked requests per second of the closed-model ingest run on this store; later scenarios take their rate from it.</summary>
    public double MaxIngestRate { get; set; }

    /// <summary>Starts the three sinks the relay delivers to; they live as long as the context.</summary>
    public static async Task<BenchContext> StartAsync(BenchSettings settings, string store, BaselineServers baselines, YousignCallbacks callbacks)
    {
        var context = new BenchContext(settings, store, baselines, callbacks);
        try
        {
            foreach (var name in (string[])["crm", "archive", "billing"])
            {
                var index = context._sinks.Count;
                context._sinks.Add(await FakeTarget.StartAsync(name, 0, arrival => Volatile.Read(ref context._current)?.Arrived(index, arrival)).ConfigureAwait(false));
            }

            return context;
        }
        catch
        {
            await context.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Starts a fresh relay on a fresh store (a new embedded data folder, or a new redis-server) in
    /// <paramref name="folder"/>, and warms it up. A fresh one per scenario, so a backlog or a fault left by one
    /// scenario cannot spill into the next one's ledger; its targets have <c>ordering: key</c> when
    /// <paramref name="orderedByKey"/>. Returns false when the store variant cannot run here.
    /// </summary>
    public Task<bool> StartRelayAsync(string folder, bool orderedByKey = false)
    {
        _scenarioFolder = folder;
        _restarts = 0;
        return StartRelayInAsync(folder, orderedByKey);
    }

    /// <summary>
    /// Makes sure the next step runs on a relay no step has run on yet, its targets ordered by key or not as asked: the
    /// running relay when it is such a one, else a fresh relay on a fresh store, in a subfolder of the scenario's folder.
    /// </summary>
    public async Task FreshRelayAsync(bool orderedByKey)
    {
        if (!_relayUsed && RelayOrderedByKey == orderedByKey)
        {
            return;
        }

        var folder = Directory.CreateDirectory(Path.Combine(_scenarioFolder, $"relay-{++_restarts}")).FullName;
        if (!await StartRelayInAsync(folder, orderedByKey).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"{Store}: the store for a fresh relay could not be started");
        }
    }

    private async Task<bool> StartRelayInAsync(string folder, bool orderedByKey)
    {
        await StopRelayAsync().ConfigureAwait(false);
        var connection = "";
        if (Store == BenchSettings.Redis)
        {
            _redis = await RedisServerProcess.TryStartAsync(folder).ConfigureAwait(false);
            if (_redis is null)
            {
                return false;
            }

            connection = _redis.Address;
        }

        RelayFolder = folder;
        _connection = connection;
        var config = RelayConfigFile.Write(folder, connection, _sinks, Settings.Outage, Baselines.KestrelUrl, withConditions: false, orderedByKey);
        Relay = await RelayProcess.StartAsync(config, Settings.RelayDll, Path.Combine(folder, "relay.log")).ConfigureAwait(false);
        RelayClient = LoadClients.Create(Relay.Url);
        RelayOrderedByKey = orderedByKey;
        _relayUsed = false;
        await WarmUpAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Rewrites the running relay's relay.yaml with or without a <c>when:</c> on every route, and waits until the relay
    /// has applied it (its admin API shows the routes' conditions): the same process, store and warm JIT on both sides.
    /// </summary>
    public async Task ReconfigureAsync(bool withConditions)
    {
        RelayConfigFile.Write(RelayFolder, _connection, _sinks, Settings.Outage, Baselines.KestrelUrl, withConditions, RelayOrderedByKey);
        using var admin = LoadClients.Create(Relay.Url);
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RelayConfigFile.AdminKey);
        var deadline = Stopwatch.GetTimestamp() + (15 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            using var sources = System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync(new Uri("/admin/sources", UriKind.Relative)).ConfigureAwait(false));
            var routes = sources.RootElement.GetProperty("sources").EnumerateArray().SelectMany(s => s.GetProperty("routes").EnumerateArray()).ToList();
            if (routes.Count > 0 && routes.All(r => r.TryGetProperty("when", out _) == withConditions))
            {
                return;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        throw new TimeoutException($"the relay did not apply the config {(withConditions ? "with" : "without")} conditions within 15 s; see {RelayFolder}/relay.log");
    }

    /// <summary>Kills the relay and its redis-server, if running.</summary>
    public ValueTask StopRelayAsync()
    {
        RelayClient?.Dispose();
        Relay?.Dispose();
        _redis?.Dispose();
        RelayClient = null!;
        Relay = null!;
        _redis = null;
        return ValueTask.CompletedTask;
    }

    /// <summary>Hands out event numbers unique across the run, so a late redelivery is never mistaken for a new event.</summary>
    public long ReserveEvents(long count) => Interlocked.Add(ref _nextEvent, count) - count;

    /// <summary>Requests for a load that no ledger follows (warm-up, baselines): numbered apart from every ledger.</summary>
    public Workload UntrackedWorkload(long requests, string eventName)
    {
        var first = ReserveEvents(requests);
        return new Workload((index, _) => Callbacks.Create(first + index, eventName), null, requests);
    }

    /// <summary>Warms the relay up (JIT, connection pools, store) with unrouted events before anything is measured.</summary>
    /// <param name="length">How long; <see cref="BenchSettings.Warmup"/> by default.</param>
    public async Task WarmUpAsync(TimeSpan? length = null)
    {
        var warmup = length ?? Settings.Warmup;
        var run = await ClosedModelLoad.RunAsync(
            "warm-up", RelayClient, UntrackedWorkload(LoadClients.ClosedCapacity(warmup), YousignCallbacks.UnroutedEvent), Settings.Connections, warmup).ConfigureAwait(false);
        Console.WriteLine(LatencyReport.Line($"{Store} warm-up", run));
    }

    /// <summary>
    /// Runs one step: reads the relay's counters, runs <paramref name="load"/> with a workload that books every
    /// request in a fresh ledger, calls <paramref name="afterLoad"/> (a sink recovering), waits for the deliveries to
    /// drain, reads the counters again and closes the ledger. Relay memory is sampled throughout. A plan with ordering
    /// keys also has the sinks check the order of each key's events while the step runs.
    /// </summary>
    public async Task<StepResult> RunStepAsync(StepPlan plan, Func<Workload, Task<RunStats>> load, Action? afterLoad = null)
    {
        var ledger = new Ledger([.. Sinks.Select(s => s.Name)], ReserveEvents(plan.Events), plan.Events, plan.ExpectsDeliveries);
        var order = plan.OrderingKeys is { } keys ? new OrderCheck([.. Sinks.Select(s => s.Name)], ledger.FirstEvent, plan.Events, keys, RelayOrderedByKey) : null;
        var eventOf = plan.EventOf ?? (static index => index);
        var workload = new Workload(
            (index, scheduled) =>
            {
                var number = ledger.FirstEvent + eventOf(index);
                ledger.Sent(number, scheduled);
                return Callbacks.Create(number, plan.EventName, order?.SignatureRequest(number));
            },
            (index, ok) => ledger.Acknowledged(ledger.FirstEvent + eventOf(index), ok),
            plan.Requests);

        var before = await ReadCountersAsync().ConfigureAwait(false);
        _relayUsed = true;
        Volatile.Write(ref _current, ledger);
        var answers = order is null ? [] : WatchOrder(order);
        var (relayCpu, storeCpu) = (Relay.Process.CpuTime(), _redis?.CpuTime());
        RunStats stats;
        double maxRss;
        try
        {
            await using var rss = new RssSampler(Relay.Process);
            stats = await load(workload).ConfigureAwait(false);
            afterLoad?.Invoke();
            var drainStarted = Stopwatch.GetTimestamp();
            await DrainAsync(ledger, drainStarted).ConfigureAwait(false);
            relayCpu = Relay.Process.CpuTime() - relayCpu;
            storeCpu = _redis?.CpuTime() - storeCpu;
            await AwaitDepthSampleAsync(ledger, drainStarted).ConfigureAwait(false);
            maxRss = rss.Max;
        }
        finally
        {
            for (var i = 0; i < answers.Length; i++)
            {
                _sinks[i].Respond = answers[i];
            }
        }

        var result = ledger.Close(before, await ReadCountersAsync().ConfigureAwait(false));
        var step = new StepResult(plan.Name, stats, result, maxRss, [], relayCpu is { } cpu ? new CpuUse(cpu.TotalSeconds, storeCpu?.TotalSeconds) : null, order?.Close(ledger.IsAcked));
        Console.WriteLine(LatencyReport.Line($"{Store} {plan.Name}", stats));
        Console.WriteLine(LedgerLine(result, maxRss, step.CpuLine));
        if (step.Order is not null)
        {
            Console.WriteLine(step.Order.Line(step));
        }

        return step;
    }

    /// <summary>
    /// Has every sink report to <paramref name="order"/> when it begins and ends answering a delivery; returns the
    /// sinks' previous answers, to put back when the step is over.
    /// </summary>
    private Func<Microsoft.AspNetCore.Http.HttpContext, int, Task>[] WatchOrder(OrderCheck order)
    {
        var answers = _sinks.Select(s => s.Respond).ToArray();
        for (var i = 0; i < _sinks.Count; i++)
        {
            var (sink, answer) = (i, answers[i]);
            _sinks[i].Respond = async (http, number) =>
            {
                var key = order.Entered(sink, http.Request);
                try
                {
                    await answer(http, number).ConfigureAwait(false);
                }
                finally
                {
                    order.Left(sink, key);
                }
            };
        }

        return answers;
    }

    public async ValueTask DisposeAsync()
    {
        await StopRelayAsync().ConfigureAwait(false);
        foreach (var sink in _sinks)
        {
            await sink.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string LedgerLine(LedgerResult ledger, double maxRss, string? cpu)
    {
        var sinks = string.Join(" ", ledger.Sinks.Select(s => $"{s.Sink} {s.Delivered}" + (s.Dead > 0 ? $" ({s.Dead} dead)" : "") + (s.Redelivered > 0 ? $" (+{s.Redelivered} redelivered)" : "")));
        var verdict = ledger.Balanced ? "balanced" : "FAILED: " + string.Join("; ", ledger.Problems);

        // Requests the relay refused with 503 (and why), when there were any: the harness sees only the status.
        var refused = string.Join(" ", ((string[])["late", "overloaded", "unavailable"]).Where(o => ledger.RelayOutcomes.GetValueOrDefault(o) > 0).Select(o => $"{o} {ledger.RelayOutcomes[o]}"));
        return string.Create(
            CultureInfo.InvariantCulture,
            $"    ledger: sent {ledger.SentEvents} acked {ledger.AckedEvents} relay-new {ledger.RelayNewEvents} dup {ledger.RelayDuplicates}{(refused.Length > 0 ? " refused " + refused : "")} | {sinks} | pending {ledger.Pending} | RSS max {maxRss:0} MB{(cpu is null ? "" : " | " + cpu)} | {verdict}");
    }

    private Task<RelayCounters> ReadCountersAsync() => RelayCounters.ReadAsync(RelayClient, RelayClient.BaseAddress!);

    /// <summary>
    /// Waits until every acked event has reached every sink. It stops early when nothing has arrived for a while and
    /// the relay reports nothing left to send (lost or dead-lettered events: the ledger will say which), when nothing
    /// has arrived for <see cref="BenchSettings.DrainStall"/>, or at <see cref="BenchSettings.DrainLimit"/>; a backlog
    /// that is still moving is waited for.
    /// </summary>
    private async Task DrainAsync(Ledger ledger, long started)
    {
        while (ledger.ExpectsDeliveries && !ledger.AllAckedDelivered && Stopwatch.GetElapsedTime(started) < BenchSettings.DrainLimit)
        {
            await Task.Delay(250).ConfigureAwait(false);
            var sinceArrival = Stopwatch.GetElapsedTime(Math.Max(ledger.LastArrival, started));
            if (sinceArrival > BenchSettings.DrainStall
                || (sinceArrival > TimeSpan.FromSeconds(8) && (await ReadCountersAsync().ConfigureAwait(false)).Targets.Values.Sum(t => t.Pending) == 0))
            {
                break;
            }
        }
    }

    /// <summary>
    /// Waits for a queue-depth sample taken after the last delivery (the relay samples every 5 s), so the closing
    /// counters are current.
    /// </summary>
    private async Task AwaitDepthSampleAsync(Ledger ledger, long started)
    {
        var sampled = Math.Max(ledger.LastArrival, started) + (long)(5.5 * Stopwatch.Frequency);
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), sampled);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait).ConfigureAwait(false);
        }

        for (var i = 0; i < 15 && (await ReadCountersAsync().ConfigureAwait(false)).Targets.Values.Sum(t => t.Pending) > 0; i++)
        {
            await Task.Delay(1000).ConfigureAwait(false);
        }
    }
}
