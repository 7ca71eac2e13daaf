using Relay.Store;

namespace Relay.Connectors;

/// <summary>
/// Runs a connector's work only while this replica holds the source's lease in the store, so one replica of a cluster
/// streams at a time. Takes the lease, or waits as a standby (polling as often as the holder renews, so it takes over
/// soon after the lease runs out); renews it every third of its time to live and cancels the work the moment a renewal
/// fails, before another replica can take over; releases it on shutdown, so a standby takes over at once. Cancelling
/// tells the work to stop reading; the work may still finish storing what it has read, and is awaited before the lease
/// is taken again.
/// </summary>
internal sealed partial class ConnectorLeaseHolder(StoreLease lease, TimeSpan ttl, ConnectorState state, TimeProvider time, ILogger logger)
{
    private TimeSpan RenewInterval => ttl / 3;

    /// <summary>Until <paramref name="stopping"/>: take the lease, run <paramref name="whileHolding"/> while it holds, and again.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> whileHolding, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            if (await TryTakeAsync().ConfigureAwait(false))
            {
                await HoldAsync(whileHolding, stopping).ConfigureAwait(false);
            }
            else
            {
                await Task.Delay(RenewInterval, time, stopping).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> TryTakeAsync()
    {
        try
        {
            if (await lease.TryAcquireAsync(ttl).ConfigureAwait(false))
            {
                state.BecomeHolder();
                Log.LeaseTaken(logger, state.Source, lease.Owner);
                return true;
            }

            var holder = await lease.HolderAsync().ConfigureAwait(false);
            if (state.Status.Role != ConnectorRole.Standby || state.Status.LeaseHolder != holder)
            {
                Log.Standby(logger, state.Source, holder ?? "nobody");
            }

            state.BecomeStandby(holder);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            state.BecomeStandby(null, $"store unavailable: {ex.GetType().Name}");
            Log.LeaseCheckFailed(logger, state.Source, ex.GetType().Name);
        }

        return false;
    }

    private async Task HoldAsync(Func<CancellationToken, Task> whileHolding, CancellationToken stopping)
    {
        using var holding = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var renewing = RenewUntilLostAsync(holding);
        try
        {
            await whileHolding(holding.Token).ConfigureAwait(false);
        }
        catch (Exception) when (holding.IsCancellationRequested)
        {
            // Lease lost or shutting down: whatever the cut-off work threw, it has stopped by now.
        }
        finally
        {
            await holding.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
        }

        if (stopping.IsCancellationRequested)
        {
            await ReleaseAsync().ConfigureAwait(false);
        }
        else
        {
            state.BecomeStandby(null);
        }
    }

    private async Task RenewUntilLostAsync(CancellationTokenSource holding)
    {
        while (true)
        {
            try
            {
                await Task.Delay(RenewInterval, time, holding.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            string? failure = null;
            try
            {
                if (!await lease.RenewAsync(ttl).ConfigureAwait(false))
                {
                    failure = "another replica holds it now";
                }
            }
            catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
            {
                failure = $"store unavailable: {ex.GetType().Name}";
            }

            if (failure is not null && !holding.IsCancellationRequested)
            {
                // Stop at once: past this point another replica may take the lease, and two streams must never run.
                Log.LeaseLost(logger, state.Source, failure);
                state.Failed($"lease lost: {failure}");
                await holding.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            await lease.ReleaseAsync().ConfigureAwait(false);
            Log.LeaseReleased(logger, state.Source);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            Log.LeaseCheckFailed(logger, state.Source, ex.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5002, LogLevel.Information, "Source {Source}: lease taken by this replica ({Owner}); opening the stream.")]
        public static partial void LeaseTaken(ILogger logger, string source, string owner);

        [LoggerMessage(5003, LogLevel.Information, "Source {Source}: standby, the stream is held by {Holder}.")]
        public static partial void Standby(ILogger logger, string source, string holder);

        [LoggerMessage(5004, LogLevel.Warning, "Source {Source}: lease lost ({Reason}); stream closed.")]
        public static partial void LeaseLost(ILogger logger, string source, string reason);

        [LoggerMessage(5005, LogLevel.Warning, "Source {Source}: cannot reach the store for the lease ({Error}).")]
        public static partial void LeaseCheckFailed(ILogger logger, string source, string error);

        [LoggerMessage(5006, LogLevel.Information, "Source {Source}: lease released.")]
        public static partial void LeaseReleased(ILogger logger, string source);
    }
}
