using System.Diagnostics;

namespace Relay.Load;

/// <summary>
/// Closed model, maximum throughput: <c>connections</c> workers each send, wait for the answer, and send again, for
/// the run's duration. The rate is whatever the server sustains, which is what a maximum-throughput figure means;
/// latency here is service time under saturation, not what a vendor would see at a given rate (use the open model).
/// </summary>
internal static class ClosedModelLoad
{
    public static async Task<RunStats> RunAsync(string name, HttpClient client, Workload workload, int connections, TimeSpan duration)
    {
        var run = new LoadRun(name, $"closed {connections} connections for {duration.TotalSeconds:0.#}s");
        long nextIndex = -1;
        run.Start();
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var index = Interlocked.Increment(ref nextIndex);
                if (index >= workload.Capacity)
                {
                    return;
                }

                await run.SendAsync(client, workload, index, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            }
        }));
        await Task.WhenAll(workers).ConfigureAwait(false);
        return run.Finish();
    }
}
