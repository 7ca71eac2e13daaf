using System.Diagnostics;

namespace Relay.Load;

/// <summary>
/// Closed model, maximum throughput: <c>connections</c> workers each send, wait for the answer, and send again, for
/// the run's duration. The rate is whatever the server sustains, which is what a maximum-throughput figure means;
/// latency here is service time under saturation, not what a vendor would see at a given rate (use the open model).
/// </summary>
internal static class ClosedModelLoad
{
    public static Task<RunStats> RunAsync(string name, HttpClient client, Workload workload, int connections, TimeSpan duration)
    {
        long nextIndex = -1;
        return RunWorkersAsync(
            new LoadRun(name, $"closed {connections} connections for {duration.TotalSeconds:0.#}s"),
            client, workload, connections, duration, (_, _) => Interlocked.Increment(ref nextIndex));
    }

    /// <summary>
    /// The closed model with the requests split into <paramref name="keys"/> keys, each key's requests one at a time:
    /// worker <c>w</c> owns keys <c>w</c>, <c>w + connections</c>, ... and sends them bursts in turn,
    /// <paramref name="burst"/> requests of one key back to back, then as many of its next key; request <c>s</c> of key
    /// <c>k</c> is index <c>s × keys + k</c>. A key's next request leaves only once the previous one was answered, so
    /// the order the server accepted a key's requests is their order <c>s</c>.
    /// </summary>
    public static Task<RunStats> RunPerKeyAsync(string name, HttpClient client, Workload workload, int connections, TimeSpan duration, int keys, int burst)
    {
        var workers = Math.Min(connections, keys);
        return RunWorkersAsync(
            new LoadRun(name, $"closed {workers} connections for {duration.TotalSeconds:0.#}s, {keys} keys in bursts of {burst}"),
            client, workload, workers, duration, (worker, turn) =>
            {
                var owned = ((keys - 1 - worker) / workers) + 1;
                var bursts = turn / burst;
                var sequence = (bursts / owned * burst) + (turn % burst);
                return (sequence * keys) + worker + (bursts % owned * workers);
            });
    }

    /// <param name="indexOf">Worker number and its turn (0, 1, ...) to the index of the request it sends next.</param>
    private static async Task<RunStats> RunWorkersAsync(LoadRun run, HttpClient client, Workload workload, int workers, TimeSpan duration, Func<int, long, long> indexOf)
    {
        run.Start();
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            for (long turn = 0; Stopwatch.GetTimestamp() < end; turn++)
            {
                var index = indexOf(worker, turn);
                if (index >= workload.Capacity)
                {
                    return;
                }

                await run.SendAsync(client, workload, index, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            }
        }))).ConfigureAwait(false);
        return run.Finish();
    }
}
