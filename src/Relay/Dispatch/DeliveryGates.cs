using System.Collections.Concurrent;
using Relay.Configuration;
using Relay.Sources;
using Relay.Store;

namespace Relay.Dispatch;

/// <summary>
/// Consults a source's <see cref="IDeliveryGate"/> before an event is delivered. The verdict is asked once per event
/// (targets of one replica share the call in flight) and kept in the event's hash as <c>gate</c>, so other targets,
/// later attempts and other replicas reuse it instead of calling the gate again.
/// </summary>
internal sealed partial class DeliveryGates(RelayConfigProvider configProvider, StoreConnection connection, ILogger<DeliveryGates> logger)
{
    private const string GateField = "gate";
    private const string PassVerdict = "pass";
    private const string QuarantinedPrefix = "quarantined: ";

    private readonly ConcurrentDictionary<string, Lazy<Task<string?>>> _checking = new(StringComparer.Ordinal);

    /// <summary>Null when the event may be sent; otherwise the result to settle instead of sending it.</summary>
    public async Task<DeliveryResult?> CheckAsync(ClaimedEvent claimed)
    {
        var gate = configProvider.Current.Sources.FirstOrDefault(s => s.Config.Id == claimed.Source)?.Handler.Gate;
        if (gate is null)
        {
            return null;
        }

        // Targets of this replica asking at once share one check; one that comes after it finished reads its record.
        var check = _checking.GetOrAdd(claimed.Id, _ => new Lazy<Task<string?>>(() => ReadOrAskAsync(gate, claimed)));
        string? verdict;
        try
        {
            verdict = await check.Value.ConfigureAwait(false);
        }
        finally
        {
            _checking.TryRemove(new(claimed.Id, check));
        }

        return verdict switch
        {
            null or PassVerdict => null,
            _ when verdict.StartsWith(QuarantinedPrefix, StringComparison.Ordinal) =>
                new DeliveryResult(DeliveryOutcome.Quarantined, null, null, verdict, TimeSpan.Zero),
            _ => new DeliveryResult(DeliveryOutcome.Retry, null, null, verdict, TimeSpan.Zero),
        };
    }

    /// <returns>The recorded verdict, or an unrecorded "delivery gate: ..." reason when the gate could not answer.</returns>
    private async Task<string?> ReadOrAskAsync(IDeliveryGate gate, ClaimedEvent claimed)
    {
        var key = connection.Keys.Event(claimed.Partition, claimed.Id);
        string? recorded = await connection.Database.HashGetAsync(key, GateField).ConfigureAwait(false);
        if (recorded is not null)
        {
            return recorded;
        }

        // Not tied to one target's shutdown: other targets may be waiting on this answer; the gate bounds its own time.
        var answer = await gate.CheckAsync(new GatedRequest(claimed.Method, claimed.QueryString, claimed.ContentType, claimed.Body), CancellationToken.None).ConfigureAwait(false);
        switch (answer.Outcome)
        {
            case GateOutcome.Unavailable:
                Log.GateUnavailable(logger, claimed.Source, claimed.Id, answer.Reason!);
                return $"delivery gate: {answer.Reason}";
            case GateOutcome.Reject:
                Log.Quarantined(logger, claimed.Source, claimed.Id, answer.Reason!);
                break;
        }

        var text = answer.Outcome == GateOutcome.Pass ? PassVerdict : QuarantinedPrefix + answer.Reason;
        return (string?)await connection.Database.ScriptEvaluateAsync(StoreScripts.Gate, [key], [text]).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(3201, LogLevel.Warning, "Source {Source}: {EventId} quarantined by its delivery gate: {Reason}.")]
        public static partial void Quarantined(ILogger logger, string source, string eventId, string reason);

        [LoggerMessage(3202, LogLevel.Warning, "Source {Source}: delivery gate could not check {EventId} ({Reason}); the delivery will be retried.")]
        public static partial void GateUnavailable(ILogger logger, string source, string eventId, string reason);
    }
}
