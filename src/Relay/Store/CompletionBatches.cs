namespace Relay.Store;

/// <summary>
/// Settles successful deliveries in batches, one batch per target and partition (one script call can only touch one
/// partition). The first completion is written at once; completions that arrive while it is being written wait and
/// go together in the next call, and so on. An idle target pays no delay; a busy one pays one script call for many
/// deliveries instead of one each, which is most of the store's work per delivered event.
/// </summary>
/// <param name="write">Writes one batch (at most <see cref="MaxBatch"/>), returning the settle outcome of each, in order.</param>
internal sealed class CompletionBatches(Func<string, int, IReadOnlyList<Completion>, Task<IReadOnlyList<int>>> write)
{
    /// <summary>Keeps one script call short: the store runs nothing else while it runs.</summary>
    public const int MaxBatch = 64;

    private readonly Dictionary<(string Target, int Partition), Queue> _queues = [];

    /// <summary>Queues one completion; the task ends with its settle outcome (0 lost lease, 1 settled, 2 settled and the key's next event is ready).</summary>
    public Task<int> CompleteAsync(string target, int partition, Completion completion)
    {
        Queue queue;
        lock (_queues)
        {
            if (!_queues.TryGetValue((target, partition), out queue!))
            {
                queue = new Queue();
                _queues.Add((target, partition), queue);
            }
        }

        var pending = new Pending(completion);
        bool start;
        lock (queue)
        {
            queue.Waiting.Add(pending);
            start = !queue.Writing;
            queue.Writing = true;
        }

        if (start)
        {
            _ = Task.Run(() => DrainAsync(target, partition, queue));
        }

        return pending.Outcome.Task;
    }

    private async Task DrainAsync(string target, int partition, Queue queue)
    {
        while (true)
        {
            List<Pending> batch;
            lock (queue)
            {
                if (queue.Waiting.Count == 0)
                {
                    queue.Writing = false;
                    return;
                }

                var take = Math.Min(queue.Waiting.Count, MaxBatch);
                batch = queue.Waiting.GetRange(0, take);
                queue.Waiting.RemoveRange(0, take);
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

    private sealed class Queue
    {
        public List<Pending> Waiting { get; } = [];

        public bool Writing { get; set; }
    }

    private sealed class Pending(Completion completion)
    {
        public Completion Completion { get; } = completion;

        public TaskCompletionSource<int> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One successful delivery to settle: the claim (its id, lease and ordering key) and its attempt record, serialized.</summary>
internal sealed record Completion(ClaimedEvent Claimed, string Record);
