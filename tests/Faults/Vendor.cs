using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Relay.Tests.Infrastructure;

namespace Relay.Faults;

/// <summary>Where one request goes: a relay's base address and the name the ledger books it under.</summary>
internal readonly record struct Destination(string Name, Uri Url);

/// <summary>What one steady load saw, besides the ledger: answers by kind and ack latency, from each request's due time.</summary>
internal sealed class LoadStats
{
    private readonly ConcurrentQueue<double> _ackMs = new();
    private readonly ConcurrentDictionary<string, long> _answers = new();

    public long Requests => _answers.Values.Sum();

    public IReadOnlyDictionary<string, long> Answers => _answers;

    public void Record(string answer, double ms, bool acked)
    {
        _answers.AddOrUpdate(answer, 1, static (_, n) => n + 1);
        if (acked)
        {
            _ackMs.Enqueue(ms);
        }
    }

    /// <summary>Percentile <paramref name="p"/> (0..100) of ack latency in ms; 0 without acks.</summary>
    public double AckPercentile(double p)
    {
        var sorted = _ackMs.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
    }

    public double AckMax => _ackMs.IsEmpty ? 0 : _ackMs.Max();

    public string Line() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Requests} requests ({string.Join(", ", _answers.OrderByDescending(a => a.Value).Select(a => $"{a.Key} {a.Value}"))}); ack p50 {AckPercentile(50):0.0} p99 {AckPercentile(99):0.0} max {AckMax:0.0} ms");
}

/// <summary>
/// Plays the vendor: signed Yousign callbacks, each a new event with its own vendor id, sent at a constant rate
/// (open model: request <c>i</c> goes out at <c>start + i / rate</c> whatever happened to earlier ones, and its latency
/// counts from then), to whichever relay <c>route</c> names at that moment. Every request and answer goes into the
/// ledger. It never retries: an event the relay refused stays refused, so the ledger shows exactly what was acked.
/// </summary>
internal sealed class Vendor : IDisposable
{
    public const string Path = "/hooks/yousign";
    public const string Secret = "fault-yousign-secret";

    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxConnectionsPerServer = 256,
        ConnectTimeout = TimeSpan.FromSeconds(2),
    })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private readonly FaultLedger _ledger;
    private readonly string _prefix;
    private long _next;

    public Vendor(FaultLedger ledger, string prefix)
    {
        _ledger = ledger;
        _prefix = prefix;
    }

    /// <summary>A signed callback for vendor id <paramref name="id"/> to <paramref name="relay"/>.</summary>
    public static HttpRequestMessage Callback(Uri relay, string id)
    {
        var request = Signing.YousignRequest(Path, Secret, Signing.YousignEvent(id, requestId: "sr-" + id));
        request.RequestUri = new Uri(relay, Path);
        request.Headers.TryAddWithoutValidation(FaultLedger.EventHeader, id);
        return request;
    }

    /// <summary>
    /// Sends <paramref name="rate"/> events a second for <paramref name="duration"/>, each to <paramref name="route"/>'s
    /// choice at its due time (null: no relay to send to; the event is booked as unanswered).
    /// </summary>
    public async Task<LoadStats> RunAsync(double rate, TimeSpan duration, Func<Destination?> route, CancellationToken cancel = default)
    {
        var stats = new LoadStats();
        var count = (long)Math.Round(rate * duration.TotalSeconds);
        var sends = new List<Task>((int)count);
        var ticksPerRequest = Stopwatch.Frequency / rate;
        var start = Stopwatch.GetTimestamp();
        for (long i = 0; i < count && !cancel.IsCancellationRequested; i++)
        {
            var due = start + (long)(i * ticksPerRequest);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, CancellationToken.None).ConfigureAwait(false);
            }

            sends.Add(SendOneAsync(stats, route(), due));
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        return stats;
    }

    public void Dispose() => _client.Dispose();

    private async Task SendOneAsync(LoadStats stats, Destination? destination, long due)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"{_prefix}-{Interlocked.Increment(ref _next)}");
        _ledger.Sent(id, destination?.Name ?? "none");
        if (destination is not { } to)
        {
            _ledger.Answered(id, null, Stopwatch.GetTimestamp());
            stats.Record("no relay", 0, acked: false);
            return;
        }

        int? status;
        string answer;
        try
        {
            using var request = Callback(to.Url, id);
            using var response = await _client.SendAsync(request).ConfigureAwait(false);
            status = (int)response.StatusCode;
            answer = status.Value.ToString(CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException ex)
        {
            status = null;
            answer = ex.HttpRequestError.ToString();
        }
        catch (TaskCanceledException)
        {
            status = null;
            answer = "timeout";
        }

        var at = Stopwatch.GetTimestamp();
        _ledger.Answered(id, status, at);
        stats.Record(answer, Stopwatch.GetElapsedTime(due, at).TotalMilliseconds, status is >= 200 and < 300);
    }
}
