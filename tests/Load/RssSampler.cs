using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>
/// Samples a process's resident memory every 250 ms while a step runs. Sampling, not a single reading, because the
/// question is whether memory stays bounded while load and backlog grow.
/// </summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private double _max;

    public RssSampler(ChildProcess process)
        : this(process.ResidentMegabytes)
    {
    }

    /// <summary>Samples whatever <paramref name="read"/> reports, e.g. a redis-server's memory.</summary>
    public RssSampler(Func<double?> read) => _loop = SampleAsync(read, _stop.Token);

    public double Max => Volatile.Read(ref _max);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task SampleAsync(Func<double?> read, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            do
            {
                if (read() is { } rss && rss > _max)
                {
                    Volatile.Write(ref _max, rss);
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // The step is over.
        }
    }
}
