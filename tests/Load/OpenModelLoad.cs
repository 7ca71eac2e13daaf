using System.Diagnostics;

namespace Relay.Load;

/// <summary>
/// Open model, constant arrival rate: request <c>i</c> is due at <c>start + i / rate</c> and goes out then, whether
/// or not earlier requests have been answered, the way independent vendors send webhooks. Latency counts from the
/// due time, so when the server (or this generator) falls behind, the wait shows up in the percentiles instead of
/// silently lowering the rate (no coordinated omission).
/// </summary>
internal static class OpenModelLoad
{
    public static async Task<RunStats> RunAsync(string name, HttpClient client, Workload workload, double rate, TimeSpan duration)
    {
        var count = Math.Min(workload.Capacity, (long)Math.Round(rate * duration.TotalSeconds));
        var run = new LoadRun(name, $"open {rate:0}/s for {duration.TotalSeconds:0.#}s");
        var sends = new List<Task>((int)count);
        var ticksPerRequest = Stopwatch.Frequency / rate;
        run.Start();
        var start = Stopwatch.GetTimestamp();
        long next = 0;
        while (next < count)
        {
            var now = Stopwatch.GetTimestamp();
            for (var due = start + (long)(next * ticksPerRequest); next < count && due <= now; due = start + (long)(next * ticksPerRequest))
            {
                sends.Add(run.SendAsync(client, workload, next, due));
                next++;
            }

            if (next < count)
            {
                // Sleep, never spin: a spinning generator would steal a core from the server it measures (2-core
                // machines). Requests that fall due during the ~1 ms timer tick go out together on wake-up, and their
                // latency still counts from their due time.
                var untilDue = Stopwatch.GetElapsedTime(now, start + (long)(next * ticksPerRequest));
                await Task.Delay(untilDue > TimeSpan.FromMilliseconds(1) ? untilDue : TimeSpan.FromMilliseconds(1)).ConfigureAwait(false);
            }
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        return run.Finish();
    }
}
