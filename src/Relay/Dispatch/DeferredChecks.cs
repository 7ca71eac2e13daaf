using System.Collections.Concurrent;
using Relay.Configuration;
using Relay.Store;
using Relay.Verification;

namespace Relay.Dispatch;

/// <summary>
/// Asks a source's deferred check (if it has one) before an event is first delivered. The verdict is asked once per
/// event (targets of one replica share the call in flight) and kept with the event by the store, so other targets,
/// later attempts and other replicas reuse it instead of asking again.
/// </summary>
internal sealed partial class DeferredChecks(RelayConfigProvider configProvider, EventStore store, ILogger<DeferredChecks> logger)
{
    // Reason texts operators see in the admin API and may alert on; the README documents them as the verification gate's.
    private const string QuarantinedPrefix = "quarantined: ";
    private const string UnavailablePrefix = "delivery gate: ";

    private readonly ConcurrentDictionary<string, Lazy<Task<DeferredVerdict>>> _checking = new(StringComparer.Ordinal);

    /// <summary>Null when the event may be sent; otherwise the result to settle instead of sending it.</summary>
    public async Task<DeliveryResult?> CheckAsync(ClaimedEvent claimed)
    {
        if (configProvider.Current.DeferredCheckOf(claimed.Source) is not { } check)
        {
            return null;
        }

        // Targets of this replica asking at once share one check; one that comes after it finished reads its record.
        var asking = _checking.GetOrAdd(claimed.Id, _ => new Lazy<Task<DeferredVerdict>>(() => ReadOrAskAsync(check, claimed)));
        DeferredVerdict verdict;
        try
        {
            verdict = await asking.Value.ConfigureAwait(false);
        }
        finally
        {
            _checking.TryRemove(new(claimed.Id, asking));
        }

        return verdict.Outcome switch
        {
            DeferredOutcome.Pass => null,
            DeferredOutcome.Reject => new DeliveryResult(DeliveryOutcome.Quarantined, null, null, QuarantinedPrefix + verdict.Reason, TimeSpan.Zero),
            _ => new DeliveryResult(DeliveryOutcome.Retry, null, null, UnavailablePrefix + verdict.Reason, TimeSpan.Zero),
        };
    }

    /// <summary>The verdict kept with the event; else asks the check, and keeps a final answer (the first one kept wins).</summary>
    private async Task<DeferredVerdict> ReadOrAskAsync(IDeferredCheck check, ClaimedEvent claimed)
    {
        if (await store.CheckVerdictAsync(claimed.Partition, claimed.Id).ConfigureAwait(false) is { } recorded)
        {
            return recorded;
        }

        // Not tied to one target's shutdown: other targets may be waiting on this answer; the check bounds its own time.
        var answer = await check.CheckAsync(new DeferredRequest(claimed.Method, claimed.QueryString, claimed.ContentType, claimed.Body), CancellationToken.None).ConfigureAwait(false);
        switch (answer.Outcome)
        {
            case DeferredOutcome.Unavailable:
                Log.CheckUnavailable(logger, claimed.Source, claimed.Id, answer.Reason!);
                return answer;
            case DeferredOutcome.Reject:
                Log.Quarantined(logger, claimed.Source, claimed.Id, answer.Reason!);
                break;
        }

        // Null: retention expired the event meanwhile; the answer just given is all there is.
        return await store.RecordCheckVerdictAsync(claimed.Partition, claimed.Id, answer).ConfigureAwait(false) ?? answer;
    }

    private static partial class Log
    {
        [LoggerMessage(3201, LogLevel.Warning, "Source {Source}: {EventId} quarantined by its deferred check: {Reason}.")]
        public static partial void Quarantined(ILogger logger, string source, string eventId, string reason);

        [LoggerMessage(3202, LogLevel.Warning, "Source {Source}: the deferred check could not judge {EventId} ({Reason}); the delivery will be retried.")]
        public static partial void CheckUnavailable(ILogger logger, string source, string eventId, string reason);
    }
}
