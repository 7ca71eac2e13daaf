using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Relay.Tests.Infrastructure;

namespace Relay.Load.Search;

/// <summary>
/// The search benchmark: for each store variant, a fresh store and relay, seeded over HTTP with N signed Yousign
/// callbacks (the <c>crm</c> target paused, so every event waits there; <c>reject</c> answers 400, so its share ends
/// dead), then each admin search timed one request at a time and every answer checked. Ends with
/// <c>search: N passed, M failed</c>, counting the seed and each query per store. Everything it starts, it kills.
/// </summary>
internal static class SearchBench
{
    /// <summary>How often seeding prints its progress.</summary>
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(SearchSettings settings)
    {
        var started = Stopwatch.GetTimestamp();
        var loadAtStart = LoadAverage();
        var folder = Directory.CreateTempSubdirectory("relay-search-").FullName;
        var machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"search: {settings.Events} events per store, {settings.Samples} samples per query, {settings.Connections} connections seeding; {machine}; logs in {folder}"));
        if (!File.Exists(settings.RelayDll))
        {
            Console.WriteLine($"search: {settings.RelayDll} not found; build it first (dotnet build -c Release src/Relay).");
            return 2;
        }

        var random = new Random(20_261_201);
        var results = new List<StoreSearchResult>();
        var notes = new List<string>();
        foreach (var store in settings.Stores)
        {
            if (await RunStoreAsync(settings, store, Directory.CreateDirectory(Path.Combine(folder, store)).FullName, random).ConfigureAwait(false) is { } result)
            {
                results.Add(result);
            }
            else
            {
                var skipped = $"{store}: skipped, redis-server is not installed (apt-get install redis-server)";
                Console.WriteLine(skipped);
                notes.Add(skipped);
            }
        }

        notes.Add($"crm is paused before seeding, so every event waits in its queue (pending; the listing shows 'paused'); reject answers 400 to {SeedEvents.RejectedType} (5% of events), which go dead at once.");
        notes.Add("A wrong answer (an event not matching the filter, out of order, missing where events exist, a lookup not returning exactly the seeded event) counts as a failed sample; a query passes when all its samples do.");
        notes.Add($"Time windows lie inside the seeding period, so their events arrived at the seeding rate; the deep page follows next {SearchSettings.DeepPages} times from the newest page, each page timed, with no repeats and no gaps allowed.");
        notes.Add($"Harness, sinks, relay and store share the machine's cores. Load average (1, 5, 15 min) at start: {loadAtStart}; at end: {LoadAverage()}.");
        var report = new SearchReport(TimeProvider.System.GetUtcNow(), machine, settings.Events, settings.Samples, settings.Connections, results, notes);
        var (markdown, json) = await SearchReportWriter.WriteAsync(report, settings.ResultsFolder).ConfigureAwait(false);

        Console.WriteLine();
        foreach (var result in results)
        {
            if (result.Seed is { } seed)
            {
                Console.WriteLine(SearchReportWriter.SeedLine(result.Store, seed));
                Console.WriteLine(SearchReportWriter.DrainLine(result.Store, seed));
            }

            foreach (var query in result.Queries)
            {
                Console.WriteLine(SearchReportWriter.QueryLine(result.Store, query));
            }

            if (result.Error is not null)
            {
                Console.WriteLine($"  {result.Store,-7} FAILED: {result.Error}");
            }
        }

        foreach (var note in notes)
        {
            Console.WriteLine("note: " + note);
        }

        Console.WriteLine($"report: {markdown}");
        Console.WriteLine($"report: {json}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"search: took {Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} min"));
        var passed = results.Sum(r => r.Passed);
        var failed = results.Sum(r => r.Failed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"search: {passed} passed, {failed} failed"));
        return failed == 0 ? 0 : 1;
    }

    /// <summary>One store variant from a fresh store to its last query; null when the variant cannot run here.</summary>
    private static async Task<StoreSearchResult?> RunStoreAsync(SearchSettings settings, string store, string folder, Random random)
    {
        Console.WriteLine(store == BenchSettings.Redis ? $"{store} (redis-server, appendonly yes, appendfsync always)" : $"{store} (embedded store)");
        long crmDeliveries = 0;
        var crm = await FakeTarget.StartAsync(SearchQueries.Crm, 0, _ => Interlocked.Increment(ref crmDeliveries)).ConfigureAwait(false);
        var reject = await FakeTarget.StartAsync(SearchQueries.Reject, 0, static _ => { }).ConfigureAwait(false);
        reject.Respond = static (context, _) =>
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return Task.CompletedTask;
        };
        RedisServerProcess? redis = null;
        RelayProcess? relay = null;
        SeedResult? seeded = null;
        var queries = new List<QueryResult>();
        try
        {
            var connection = "";
            if (store == BenchSettings.Redis)
            {
                redis = await RedisServerProcess.TryStartAsync(folder).ConfigureAwait(false);
                if (redis is null)
                {
                    return null;
                }

                connection = redis.Address;
            }

            var relayLog = Path.Combine(folder, "relay.log");
            relay = await RelayProcess.StartAsync(SearchConfigFile.Write(folder, connection, crm, reject, store == BenchSettings.Garnet ? settings.EmbeddedMemory : null), settings.RelayDll, relayLog).ConfigureAwait(false);
            using var admin = new AdminApi(relay.Url);
            await admin.PauseAsync(SearchQueries.Crm).ConfigureAwait(false);

            var seed = new SeedEvents(Guid.NewGuid().ToString("N")[..12], settings.Events);
            seeded = await SeedAsync(settings, store, relay, relayLog, redis, admin, seed, store == BenchSettings.Redis ? Path.Combine(folder, "appendonlydir") : Path.Combine(folder, "data")).ConfigureAwait(false);
            if (Interlocked.Read(ref crmDeliveries) > 0)
            {
                seeded = seeded with { Problems = [.. seeded.Problems, $"crm received {Interlocked.Read(ref crmDeliveries)} deliveries while paused"] };
            }

            Console.WriteLine(SearchReportWriter.SeedLine(store, seeded));
            Console.WriteLine(SearchReportWriter.DrainLine(store, seeded));
            if (seed.Acked == 0)
            {
                return new StoreSearchResult(store, seeded, queries, "no event was acked, so there is nothing to search");
            }

            var listed = await ListedAsync(admin, seed, random).ConfigureAwait(false);
            foreach (var query in SearchQueries.All(seed, admin, listed))
            {
                queries.Add(await MeasureAsync(admin, query, settings.Samples, random).ConfigureAwait(false));
                Console.WriteLine(SearchReportWriter.QueryLine(store, queries[^1]));
            }

            queries.Add(await MeasureDeepPagesAsync(admin, seed, settings.Samples).ConfigureAwait(false));
            Console.WriteLine(SearchReportWriter.QueryLine(store, queries[^1]));
            return new StoreSearchResult(store, seeded, queries, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or IOException or JsonException)
        {
            // Record and go on: the other store's figures are still worth having.
            Console.WriteLine($"{store}: {ex.GetType().Name}: {ex.Message}");
            return new StoreSearchResult(store, seeded, queries, $"{ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            relay?.Dispose();
            redis?.Dispose();
            await crm.DisposeAsync().ConfigureAwait(false);
            await reject.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends every seed event (closed model, as fast as the relay acks), sampling memory throughout, then waits for the
    /// reject target to drain and checks the relay holds what was acked: all of it pending at crm, the rejected share
    /// dead at reject.
    /// </summary>
    private static async Task<SeedResult> SeedAsync(
        SearchSettings settings, string store, RelayProcess relay, string relayLog, RedisServerProcess? redis, AdminApi admin, SeedEvents seed, string dataFolder)
    {
        using var client = LoadClients.Create(relay.Url);
        var relayExited = false;
        var workload = new Workload(
            (n, _) => Volatile.Read(ref relayExited) ? throw new HttpRequestException(HttpRequestError.ConnectionError, "the relay exited") : seed.Create(n),
            seed.Completed,
            seed.Count);
        RunStats load;
        double relayRssMax;
        double? redisRssMax = null;
        await using (var relaySampler = new RssSampler(relay.Process))
        await using (var redisSampler = new RssSampler(() => redis?.ResidentMegabytes()))
        {
            using var stopProgress = new CancellationTokenSource();
            var progress = PrintProgressAsync(store, relay, redis, seed, stopProgress.Token);
            var watch = WatchAsync(relay, () => Volatile.Write(ref relayExited, true), stopProgress.Token);
            load = await ClosedModelLoad.RunAsync($"{store} seed", client, workload, settings.Connections, TimeSpan.FromDays(1)).ConfigureAwait(false);
            await stopProgress.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(progress, watch).ConfigureAwait(false);
            relayRssMax = relaySampler.Max;
            if (redis is not null)
            {
                redisRssMax = redisSampler.Max;
            }
        }

        if (relay.Process.HasExited)
        {
            var died = (seed.LastAcked - seed.FirstSent).TotalSeconds;
            throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture,
                $"the relay exited while seeding: {seed.Acked} events acked, the last {died:0.0} s after the first was sent; relay RSS max {relayRssMax:0} MB, store on disk {DiskMegabytes(dataFolder):0} MB; {FatalError(relayLog)}"));
        }

        // Read once more now: the samplers stopped up to 250 ms ago.
        var relayRss = relay.Process.ResidentMegabytes() ?? 0;
        var redisRssNow = redis?.ResidentMegabytes();
        relayRssMax = Math.Max(relayRssMax, relayRss);
        redisRssMax = redisRssMax is { } max && redisRssNow is { } now ? Math.Max(max, now) : redisRssMax;

        var problems = new List<string>();
        var drainStarted = Stopwatch.GetTimestamp();
        var targets = await admin.TargetsAsync().ConfigureAwait(false);
        while (Queue(targets, SearchQueries.Reject).Pending > 0 && Stopwatch.GetElapsedTime(drainStarted) < SearchSettings.DrainLimit)
        {
            await Task.Delay(1000).ConfigureAwait(false);
            targets = await admin.TargetsAsync().ConfigureAwait(false);
        }

        var drained = Stopwatch.GetElapsedTime(drainStarted);
        var crm = Queue(targets, SearchQueries.Crm);
        var reject = Queue(targets, SearchQueries.Reject);
        if (reject.Pending > 0)
        {
            problems.Add($"reject still has {reject.Pending} events to deliver after {SearchSettings.DrainLimit.TotalMinutes:0} min");
        }

        if (load.Failed > 0)
        {
            problems.Add($"{load.Failed} of {seed.Count} events not acked ({string.Join(", ", load.Failures.Select(f => $"{f.Key}: {f.Value}"))})");
        }

        if (!crm.Paused || crm.Ready != seed.Acked || crm.InFlight + crm.Retrying + crm.Dead > 0)
        {
            problems.Add($"crm holds ready {crm.Ready}, in flight {crm.InFlight}, retrying {crm.Retrying}, dead {crm.Dead} (paused: {crm.Paused}); expected all {seed.Acked} acked events ready");
        }

        if (reject.Dead != seed.AckedRejected)
        {
            problems.Add($"reject holds {reject.Dead} dead; {seed.AckedRejected} acked events are {SeedEvents.RejectedType}");
        }

        return new SeedResult(
            load, seed.Count, relayRss, relayRssMax, redisRssNow, redisRssMax, DiskMegabytes(dataFolder), crm.Ready, reject.Dead, seed.AckedRejected, drained.TotalSeconds, problems);
    }

    private static TargetQueues Queue(IReadOnlyList<TargetQueues> targets, string id) =>
        targets.FirstOrDefault(t => t.Id == id) ?? throw new InvalidOperationException($"GET /admin/targets does not list {id}.");

    /// <summary>Calls <paramref name="exited"/> as soon as the relay is gone, so the rest of the seed fails at once instead of one refused connection at a time.</summary>
    private static async Task WatchAsync(RelayProcess relay, Action exited, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (relay.Process.HasExited)
                {
                    exited();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Seeding is over.
        }
    }

    /// <summary>The first exception the relay's log shows, with the frame that threw it, to say why the relay died.</summary>
    private static string FatalError(string relayLog)
    {
        var log = File.Exists(relayLog) ? File.ReadAllLines(relayLog) : [];
        var first = Array.FindIndex(log, l => l.StartsWith("System.", StringComparison.Ordinal) && l.Contains("Exception", StringComparison.Ordinal));
        return first < 0
            ? $"no exception in its log ({relayLog})"
            : log[first].Trim() + (first + 1 < log.Length ? " " + log[first + 1].Trim() : "") + $" (see {relayLog})";
    }

    private static async Task PrintProgressAsync(string store, RelayProcess relay, RedisServerProcess? redis, SeedEvents seed, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(ProgressEvery);
        var last = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var acked = seed.Acked;
                var redisRss = redis?.ResidentMegabytes() is { } rss ? string.Create(CultureInfo.InvariantCulture, $", redis-server RSS {rss:0} MB") : "";
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  {store,-7} seeding: {acked} of {seed.Count} acked, {(acked - last) / ProgressEvery.TotalSeconds:0}/s over the last {ProgressEvery.TotalSeconds:0} s; relay RSS {relay.Process.ResidentMegabytes() ?? 0:0} MB{redisRss}"));
                last = acked;
            }
        }
        catch (OperationCanceledException)
        {
            // Seeding is over.
        }
    }

    /// <summary>Events from random windows of the seeding period, whose Relay ids the id lookup then asks for.</summary>
    private static async Task<IReadOnlyList<EventItem>> ListedAsync(AdminApi admin, SeedEvents seed, Random random)
    {
        var listed = new Dictionary<string, EventItem>(StringComparer.Ordinal);
        for (var i = 0; i < 20; i++)
        {
            var (from, to) = seed.RandomWindow(random, SearchSettings.Window);
            var answer = await admin.SearchAsync($"from={Uri.EscapeDataString(from.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}&limit=500").ConfigureAwait(false);
            foreach (var e in answer.Page?.Events ?? throw new InvalidOperationException($"Listing a window to pick ids from failed: {answer.Failure}"))
            {
                listed.TryAdd(e.Id, e);
            }
        }

        return listed.Count > 0 ? [.. listed.Values] : throw new InvalidOperationException("Random windows of the seeding period listed no events to look up by id.");
    }

    /// <summary>Warm-up, then <paramref name="samples"/> timed requests one at a time, each answer checked after the clock stops.</summary>
    private static async Task<QueryResult> MeasureAsync(AdminApi admin, SearchQuery query, int samples, Random random)
    {
        for (var i = 0; i < SearchSettings.WarmupRequests; i++)
        {
            await admin.SearchAsync(query.Next(random).Query).ConfigureAwait(false);
        }

        var tally = new Tally(query.Name);
        for (var i = 0; i < samples; i++)
        {
            var probe = query.Next(random);
            var answer = await admin.SearchAsync(probe.Query).ConfigureAwait(false);
            var problem = answer.Failure ?? probe.Check(answer.Page!);
            if (problem is null && probe.Confirm is { } confirm)
            {
                problem = await confirm(answer.Page!).ConfigureAwait(false);
            }

            tally.Add(answer, problem is null ? null : $"{probe.Query}: {problem}");
        }

        return tally.Result();
    }

    /// <summary>
    /// Follows <c>next</c> <see cref="SearchSettings.DeepPages"/> times from the newest page, timing each followed page,
    /// until about <paramref name="samples"/> pages are timed. Each page must continue exactly where the previous one
    /// ended: full, older than it, no event twice.
    /// </summary>
    private static async Task<QueryResult> MeasureDeepPagesAsync(AdminApi admin, SeedEvents seed, int samples)
    {
        var limit = "limit=" + SearchSettings.PageSize.ToString(CultureInfo.InvariantCulture);
        var tally = new Tally(SearchQueries.DeepPage);
        var chains = (samples + SearchSettings.DeepPages - 1) / SearchSettings.DeepPages;
        for (var chain = -1; chain < chains; chain++)
        {
            // Chain -1 is the warm-up: followed and checked like the others, not counted.
            var timed = chain >= 0;
            var first = await admin.SearchAsync(limit).ConfigureAwait(false);
            if (first.Page is not { } page)
            {
                throw new InvalidOperationException($"The newest page failed: {first.Failure}");
            }

            var seen = page.Events.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
            for (var depth = 1; depth <= SearchSettings.DeepPages && page.Events.Count > 0; depth++)
            {
                var expected = Math.Clamp(seed.Acked - ((long)depth * SearchSettings.PageSize), 0, SearchSettings.PageSize);
                if (page.Next is null)
                {
                    if (expected > 0 && timed)
                    {
                        tally.Add(default, $"page {depth}: no next, {expected} more events expected");
                    }

                    break;
                }

                var previousLast = page.Events[^1];
                var answer = await admin.SearchAsync($"{limit}&cursor={Uri.EscapeDataString(page.Next)}").ConfigureAwait(false);
                var problem = answer.Failure ?? SearchQueries.Listing(answer.Page!, expected, exact: true, _ => null);
                if (problem is null && answer.Page!.Events.Count > 0)
                {
                    var events = answer.Page.Events;
                    problem = !SearchQueries.Older(events[0], previousLast) ? $"starts at {events[0].Id}, not older than the previous page's last {previousLast.Id}"
                        : events.FirstOrDefault(e => !seen.Add(e.Id)) is { } repeated ? $"{repeated.Id} listed again"
                        : null;
                }

                if (timed)
                {
                    tally.Add(answer, problem is null ? null : $"page {depth + 1}: {problem}");
                }

                if (problem is not null || answer.Page is null)
                {
                    break;
                }

                page = answer.Page;
            }
        }

        return tally.Result();
    }

    private static double DiskMegabytes(string folder) =>
        Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / (1024.0 * 1024) : 0;

    /// <summary>Other work on the machine skews every number; the report says how busy it was.</summary>
    private static string LoadAverage()
    {
        try
        {
            return string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>One query's samples: latency, right and wrong answers, events per page, the first few problems.</summary>
    private sealed class Tally(string query)
    {
        private const int ProblemsKept = 5;

        private readonly HdrHistogram.LongConcurrentHistogram _latency = LatencyReport.NewHistogram();
        private readonly List<string> _problems = [];
        private long _passed;
        private long _failed;
        private long _pages;
        private long _events;

        /// <summary>Books one sample; a default <paramref name="answer"/> is a request that could not be made (not timed).</summary>
        public void Add(TimedPage answer, string? problem)
        {
            if (answer.Elapsed > TimeSpan.Zero)
            {
                _latency.RecordValue(Math.Max(1, (long)answer.Elapsed.TotalMicroseconds));
            }

            if (answer.Page is { } page)
            {
                _pages++;
                _events += page.Events.Count;
            }

            if (problem is null)
            {
                _passed++;
                return;
            }

            _failed++;
            if (_problems.Count < ProblemsKept)
            {
                _problems.Add(problem);
            }
        }

        public QueryResult Result() => new(query, _passed, _failed, LatencyStats.From(_latency), _pages == 0 ? 0 : (double)_events / _pages, _problems);
    }
}
