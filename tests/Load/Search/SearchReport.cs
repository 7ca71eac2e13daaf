using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Load.Search;

/// <summary>Seeding one store: the load itself, the memory it took, and whether the relay holds what was sent.</summary>
/// <param name="RelayRssMb">The relay's resident memory once seeding finished (with the embedded store, the store's too).</param>
/// <param name="RedisRssMb">redis-server's resident memory once seeding finished; null on the embedded store.</param>
/// <param name="StoreDiskMb">The store's files on disk after the reject target drained (Garnet's data folder, or Redis's AOF).</param>
/// <param name="DrainSeconds">From the end of seeding until the reject target had nothing ready, in flight or retrying.</param>
/// <param name="Problems">Why the seeded store is not what was sent; empty when it is.</param>
internal sealed record SeedResult(
    RunStats Load,
    long Events,
    double RelayRssMb,
    double RelayRssMaxMb,
    double? RedisRssMb,
    double? RedisRssMaxMb,
    double StoreDiskMb,
    long CrmReady,
    long RejectDead,
    long RejectedSeeded,
    double DrainSeconds,
    IReadOnlyList<string> Problems)
{
    public bool Passed => Problems.Count == 0;
}

/// <summary>One query on one store: samples whose answers were right and wrong, their latency, and how full the pages were.</summary>
/// <param name="Problems">The first few wrong answers, each saying what was wrong.</param>
internal sealed record QueryResult(string Query, long Passed, long Failed, LatencyStats Latency, double EventsPerPage, IReadOnlyList<string> Problems)
{
    public bool Ok => Failed == 0 && Passed > 0;
}

/// <param name="Error">Why the store's run stopped early; null when it finished.</param>
internal sealed record StoreSearchResult(string Store, SeedResult? Seed, IReadOnlyList<QueryResult> Queries, string? Error)
{
    /// <summary>Checks that passed: the seed, and each query whose samples were all right.</summary>
    public int Passed => (Seed?.Passed == true ? 1 : 0) + Queries.Count(q => q.Ok);

    /// <summary>Checks that failed; a run that stopped early counts once more.</summary>
    public int Failed => (Seed is { Passed: false } ? 1 : 0) + Queries.Count(q => !q.Ok) + (Error is null ? 0 : 1);
}

internal sealed record SearchReport(
    DateTimeOffset At, string Machine, long Events, int Samples, int Connections, IReadOnlyList<StoreSearchResult> Stores, IReadOnlyList<string> Notes);

/// <summary>Console lines as the search benchmark goes, and its report as markdown (for people) and JSON (for tools).</summary>
internal static class SearchReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<(string Markdown, string Json)> WriteAsync(SearchReport report, string folder)
    {
        Directory.CreateDirectory(folder);
        var stamp = report.At.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var markdownPath = Path.Combine(folder, $"search-{report.Events.ToString(CultureInfo.InvariantCulture)}-{stamp}.md");
        var jsonPath = Path.ChangeExtension(markdownPath, ".json");
        await File.WriteAllTextAsync(markdownPath, Markdown(report)).ConfigureAwait(false);
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
        return (markdownPath, jsonPath);
    }

    public static string SeedLine(string store, SeedResult seed)
    {
        var redis = seed.RedisRssMb is { } rss ? $", redis-server RSS {rss:0} MB (max {seed.RedisRssMaxMb:0})" : "";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"  {store,-7} seed {seed.Events} events, {seed.Load.Ok} acked, {seed.Load.Failed} failed, in {seed.Load.Seconds:0.0} s: {seed.Load.Rps:0} events/s (ack p50 {seed.Load.Latency.P50:0.00} p99 {seed.Load.Latency.P99:0.00} max {seed.Load.Latency.Max:0.0} ms); relay RSS {seed.RelayRssMb:0} MB (max {seed.RelayRssMaxMb:0}){redis}; store on disk {seed.StoreDiskMb:0} MB");
    }

    public static string DrainLine(string store, SeedResult seed)
    {
        var verdict = seed.Passed ? "ok" : "FAILED: " + string.Join("; ", seed.Problems);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"  {store,-7} stored: crm {seed.CrmReady} pending (paused); reject {seed.RejectDead} dead of {seed.RejectedSeeded} {SeedEvents.RejectedType} seeded, drained {seed.DrainSeconds:0.0} s after seeding | {verdict}");
    }

    public static string QueryLine(string store, QueryResult query)
    {
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"  {store,-7} {query.Query,-45} ok {query.Passed,4} fail {query.Failed,3}  p50 {query.Latency.P50,7:0.00}  p99 {query.Latency.P99,7:0.00}  max {query.Latency.Max,7:0.00} ms  {query.EventsPerPage,5:0.0} events/page");
        return query.Problems.Count == 0 ? line : line + "  WRONG: " + query.Problems[0];
    }

    public static string Markdown(SearchReport report)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Relay search benchmark: {report.Events:N0} events per store").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{report.At:yyyy-MM-dd HH:mm} UTC, {report.Machine}. Seeded over HTTP with {report.Connections} connections (closed model); then {report.Samples} samples per query, one request at a time, timed from sending the request to having read the whole answer. Latencies in ms.").AppendLine();

        md.AppendLine("## Seeding").AppendLine();
        Table(md, ["store", "events", "acked", "failed", "seconds", "events/s", "ack p50", "ack p99", "ack max", "relay RSS MB (max)", "redis-server RSS MB (max)", "store on disk MB", "crm pending", "reject dead (seeded)", "check"],
            report.Stores.Where(s => s.Seed is not null).Select(s => SeedRow(s.Store, s.Seed!)));

        md.AppendLine("## Searches").AppendLine();
        Table(md, ["store", "query", "ok", "wrong", "p50", "p75", "p95", "p99", "max", "events/page"],
            report.Stores.SelectMany(s => s.Queries.Select(q => (IReadOnlyList<string>)[
                s.Store, q.Query, Count(q.Passed), Count(q.Failed), Ms(q.Latency.P50), Ms(q.Latency.P75), Ms(q.Latency.P95), Ms(q.Latency.P99), Ms(q.Latency.Max), Number(q.EventsPerPage, "0.0")])));

        var wrong = report.Stores.SelectMany(s => s.Queries.Where(q => q.Problems.Count > 0).Select(q => (s.Store, q))).ToList();
        var stopped = report.Stores.Where(s => s.Error is not null).ToList();
        if (wrong.Count > 0 || stopped.Count > 0)
        {
            md.AppendLine("## Wrong answers and runs that did not finish").AppendLine();
            foreach (var (store, query) in wrong)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {store} {query.Query}: {string.Join("; ", query.Problems)}");
            }

            foreach (var store in stopped)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {store.Store}: {store.Error}");
            }

            md.AppendLine();
        }

        md.AppendLine("## Notes").AppendLine();
        foreach (var note in report.Notes)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        return md.ToString();
    }

    private static IReadOnlyList<string> SeedRow(string store, SeedResult seed) =>
    [
        store, Count(seed.Events), Count(seed.Load.Ok), Count(seed.Load.Failed), Number(seed.Load.Seconds, "0.0"), Number(seed.Load.Rps, "0"),
        Ms(seed.Load.Latency.P50), Ms(seed.Load.Latency.P99), Ms(seed.Load.Latency.Max),
        $"{Number(seed.RelayRssMb, "0")} ({Number(seed.RelayRssMaxMb, "0")})",
        seed.RedisRssMb is { } redis ? $"{Number(redis, "0")} ({Number(seed.RedisRssMaxMb ?? 0, "0")})" : "",
        Number(seed.StoreDiskMb, "0"), Count(seed.CrmReady), $"{Count(seed.RejectDead)} ({Count(seed.RejectedSeeded)})",
        seed.Passed ? "ok" : "FAILED: " + string.Join("; ", seed.Problems),
    ];

    private static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string Count(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Number(double n, string format) => n.ToString(format, CultureInfo.InvariantCulture);

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
