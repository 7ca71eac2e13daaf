using System.Threading.Channels;
using StackExchange.Redis;

namespace Relay.Store;

/// <summary>
/// Makes acks wait until the embedded store's append-only file holds their writes, without one commit per ack.
/// Callers that finished their script take the current batch; the loop swaps in a new batch, then issues
/// <c>COMMITAOF</c>: every write made before the swap is covered by that commit, so the whole batch is released.
/// Under load one commit covers many acks (group commit).
/// </summary>
internal sealed class AofGroupCommit : IAsyncDisposable
{
    private readonly IDatabase _database;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Task _loop;
    private TaskCompletionSource _batch = NewBatch();

    public AofGroupCommit(IDatabase database)
    {
        _database = database;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes once a commit that started after this call has finished.</summary>
    public Task WaitForCommitAsync()
    {
        var batch = Volatile.Read(ref _batch);
        _wake.Writer.TryWrite(true);
        return batch.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _wake.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        await foreach (var _ in _wake.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var batch = Interlocked.Exchange(ref _batch, NewBatch());
            try
            {
                await _database.ExecuteAsync("COMMITAOF").ConfigureAwait(false);
                batch.TrySetResult();
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                batch.TrySetException(ex);
            }
        }

        Volatile.Read(ref _batch).TrySetException(new ObjectDisposedException(nameof(AofGroupCommit)));
    }

    private static TaskCompletionSource NewBatch() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
