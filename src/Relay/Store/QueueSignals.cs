using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Relay.Store;

/// <summary>
/// Local wake-ups: the store raises one for a target whenever it puts events in that target's ready queue (accept,
/// replay, redrive, promote) or makes it claimable again (resume), so its dispatcher starts at once. Dispatchers also
/// poll, so work queued by another replica is found within one poll interval.
/// </summary>
internal sealed class QueueSignals(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Channel<bool>> _channels = new(StringComparer.Ordinal);

    public void Wake(string target) => Channel(target).Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or the timeout, whichever is first.</summary>
    public async Task WaitAsync(string target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            await Channel(target).Reader.ReadAsync(linked.Token).ConfigureAwait(false);
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
