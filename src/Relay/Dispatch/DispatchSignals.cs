using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Relay.Dispatch;

/// <summary>
/// Local wake-ups: ingest and the scheduler nudge a target's dispatcher so new work starts at once.
/// Dispatchers also poll, so work queued by another replica is found within one poll interval.
/// </summary>
internal sealed class DispatchSignals
{
    private readonly ConcurrentDictionary<string, Channel<bool>> _channels = new(StringComparer.Ordinal);

    public void Wake(string target) => Channel(target).Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or the timeout, whichever is first.</summary>
    public async Task WaitAsync(string target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await Channel(target).Reader.ReadAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Poll interval elapsed.
        }
    }

    private Channel<bool> Channel(string target) => _channels.GetOrAdd(
        target,
        static _ => System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite }));
}
