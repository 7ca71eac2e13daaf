namespace Relay.Store;

/// <summary>
/// Settles successful deliveries in batches, one batch per target and partition (one script call can only touch one
/// partition). The first completion is written at once; completions that arrive while it is being written wait and
/// go together in the next call, and so on. An idle target pays no delay; a busy one pays one script call for many
/// deliveries instead of one each, which is most of the store's work per delivered event. A queue lives only while it
/// has completions to write, so targets that are removed, or partitions left by a migration, leave nothing behind.
/// </summary>
/// <param name="write">Writes one batch (at most <see cref="MaxBatch"/>), returning the settle outcome of each, in order.</param>
internal sealed class CompletionBatches(Func<string, int, IReadOnlyList<Completion>, Task<IReadOnlyList<SettleOutcome>>> write)
{
    /// <summary>Keeps one script call short: the store runs nothing else while it runs.</summary>
    public const int MaxBatch = 64;

    /// <summary>Per target and partition that has a write in progress, the completions waiting for the next one.</summary>
    private readonly Dictionary<(string Target, int Partition), List<Pending>> _queues = [];

    /// <summary>Queues one completion; the task ends with its settle outcome.</summary>
    public Task<SettleOutcome> CompleteAsync(string target, int partition, Completion completion)
    {
        var pending = new Pending(completion);
        List<Pending>? drainer = null;
        lock (_queues)
        {
            // The queue is found or made, and the completion added, under the same lock a drained queue is removed
            // under: a completion can never land in a queue nobody will write.
            if (!_queues.TryGetValue((target, partition), out var queue))
            {
                queue = [];
                _queues.Add((target, partition), queue);
                drainer = queue;
            }

            queue.Add(pending);
        }

        if (drainer is not null)
        {
            _ = Task.Run(() => DrainAsync(target, partition, drainer));
        }

        return pending.Outcome.Task;
    }

    /// <summary>How many (target, partition) queues have a write in progress; a queue is forgotten once it drains.</summary>
    internal int QueueCount
    {
        get
        {
            lock (_queues)
            {
                return _queues.Count;
            }
        }
    }

    private async Task DrainAsync(string target, int partition, List<Pending> queue)
    {
        while (true)
        {
            List<Pending> batch;
            lock (_queues)
            {
                if (queue.Count == 0)
                {
                    _queues.Remove((target, partition));
                    return;
                }

                var take = Math.Min(queue.Count, MaxBatch);
                batch = queue.GetRange(0, take);
                queue.RemoveRange(0, take);
            }

            try
            {
                var outcomes = await write(target, partition, [.. batch.Select(p => p.Completion)]).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Outcome.TrySetResult(outcomes[i]);
                }
            }
            catch (Exception ex)
            {
                // Each caller sees the failure as its own (the store went away): the lease runs out and the event is delivered again.
                foreach (var pending in batch)
                {
                    pending.Outcome.TrySetException(ex);
                }
            }
        }
    }

    private sealed class Pending(Completion completion)
    {
        public Completion Completion { get; } = completion;

        public TaskCompletionSource<SettleOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One successful delivery to settle: the claim (its id, lease and ordering key) and its attempt record, serialized.</summary>
internal sealed record Completion(ClaimedEvent Claimed, string Record);
