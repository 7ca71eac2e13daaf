using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace Relay.Load;

/// <summary>
/// What one load run sends: <see cref="Create"/> builds request number <c>index</c> (and may record its scheduled
/// time in a ledger); <see cref="Completed"/> hears whether it was acknowledged. <see cref="Capacity"/> bounds a
/// closed-model run, which cannot know in advance how many requests it will send.
/// </summary>
internal sealed record Workload(Func<long, long, HttpRequestMessage> Create, Action<long, bool>? Completed, long Capacity);

/// <summary>
/// Records the outcome of every request of one run: latency (microseconds, HdrHistogram) of every answer and of the
/// successful ones alone, ok and failed counts, and why requests failed. Shared by the open and the closed model so both report the same way.
/// </summary>
internal sealed class LoadRun(string name, string model)
{
    private readonly LongConcurrentHistogram _latency = LatencyReport.NewHistogram();
    private readonly LongConcurrentHistogram _okLatency = LatencyReport.NewHistogram();
    private readonly ConcurrentDictionary<string, long> _failures = new();
    private long _ok;
    private long _failed;
    private long _started;
    private long _lastCompletion;

    /// <summary>Marks the start of the measured window.</summary>
    public void Start() => _started = Stopwatch.GetTimestamp();

    /// <summary>
    /// Sends request <paramref name="index"/> and records its latency from <paramref name="scheduled"/>: the time it was
    /// meant to go out, not the time it did, so a stalled server cannot hide its stall (no coordinated omission).
    /// </summary>
    public async Task SendAsync(HttpClient client, Workload workload, long index, long scheduled)
    {
        string? failure;
        try
        {
            using var request = workload.Create(index, scheduled);
            using var response = await client.SendAsync(request).ConfigureAwait(false);
            failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException ex)
        {
            failure = ex.HttpRequestError.ToString();
        }
        catch (TaskCanceledException)
        {
            failure = "timeout";
        }

        var completed = Stopwatch.GetTimestamp();
        var micros = Math.Max(1, (long)Stopwatch.GetElapsedTime(scheduled, completed).TotalMicroseconds);
        _latency.RecordValue(micros);
        if (failure is null)
        {
            _okLatency.RecordValue(micros);
            Interlocked.Increment(ref _ok);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            _failures.AddOrUpdate(failure, 1, static (_, n) => n + 1);
        }

        InterlockedMax(ref _lastCompletion, completed);
        workload.Completed?.Invoke(index, failure is null);
    }

    public RunStats Finish()
    {
        var window = Stopwatch.GetElapsedTime(_started, Math.Max(_lastCompletion, _started + 1));
        return new RunStats(
            name,
            model,
            _ok,
            _failed,
            _ok / window.TotalSeconds,
            window.TotalSeconds,
            LatencyStats.From(_latency),
            LatencyStats.From(_okLatency),
            _failures.OrderByDescending(f => f.Value).ToDictionary(f => f.Key, f => f.Value));
    }

    internal static void InterlockedMax(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    internal static void InterlockedMin(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value < current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
