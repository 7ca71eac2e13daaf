using System.Diagnostics;
using Relay.Configuration;
using Relay.Sources;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Ingress;

/// <summary>The original request an event came in, as deliveries in raw mode replay it.</summary>
internal sealed record EventOrigin(
    string Method,
    string QueryString,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body);

/// <summary>What became of the events of one request (or one streamed message).</summary>
/// <param name="Results">Per event, in order: accepted with its new id, or a duplicate of the id first accepted.</param>
/// <param name="Routed">Accepted events that matched at least one route.</param>
internal readonly record struct AcceptSummary(IReadOnlyList<AcceptResult> Results, int Routed)
{
    public int Accepted => Results.Count(r => r.Outcome == AcceptOutcome.Accepted);

    /// <summary>Every event a duplicate, none routed to a target, or accepted.</summary>
    public IngestOutcome Outcome => Accepted == 0 ? IngestOutcome.Duplicate : Routed == 0 ? IngestOutcome.Unrouted : IngestOutcome.Accepted;
}

/// <summary>
/// The one accept path, shared by webhook ingress, stream connectors and the admin API's test event: route each event
/// (once, at accept), give it an id in its ordering key's partition, and hand the batch to the store, which stores each
/// atomically (duplicates dropped), wakes the targets that got work and completes once durable.
/// Store failures surface as exceptions matched by <see cref="StoreFailures.IsStoreFailure"/>; nothing is acknowledged then.
/// </summary>
internal sealed partial class EventAcceptor(EventStore store, RelayConfigProvider configProvider, RelayMetrics metrics, ILogger<EventAcceptor> logger)
{
    public async Task<AcceptSummary> AcceptAsync(SourceConfig source, IReadOnlyList<IncomingEvent> events, EventOrigin origin, DateTimeOffset now)
    {
        var batch = new NewEvent[events.Count];
        var matches = new RouteMatch[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var incoming = events[i];
            var partition = EventIds.PartitionOf(incoming.OrderingKey, store.Partitions);
            var stored = new StoredEvent(
                EventIds.New(partition, now), partition, source.Id, incoming.Type, incoming.Tags, incoming.DedupeKey,
                origin.Method, origin.QueryString, origin.ContentType, origin.Headers, incoming.Body ?? origin.Body, now, Activity.Current?.Id, incoming.OrderingKey);
            var match = matches[i] = RouteTable.Match(source.Routes, incoming, new ConditionInput(source.Id, incoming, origin));
            batch[i] = new NewEvent(stored with { Routes = match.DecisionsJson }, source.DedupeWindow, match.Targets, OrderedAmong(match.Targets));
        }

        var results = await store.AcceptAsync(batch).ConfigureAwait(false);
        var routed = 0;
        for (var i = 0; i < results.Count; i++)
        {
            Activity.Current?.AddEvent(new ActivityEvent(results[i].Outcome.ToString(), tags: new() { ["webhook.id"] = results[i].EventId }));
            if (results[i].Outcome == AcceptOutcome.Accepted)
            {
                routed += batch[i].Targets.Count > 0 ? 1 : 0;
                ReportConditionFailures(source.Id, results[i].EventId, matches[i]);
            }
        }

        return new AcceptSummary(results, routed);
    }

    /// <summary>
    /// A route's condition that failed to evaluate counts as no match; the operator learns of it here, once per stored
    /// event (a duplicate was reported with its first copy), as a metric and a Debug log, and on the event in the admin API.
    /// </summary>
    private void ReportConditionFailures(string source, string eventId, RouteMatch match)
    {
        foreach (var decision in match.Decisions)
        {
            if (decision.Verdict == RouteVerdict.WhenFailed)
            {
                metrics.RouteConditionFailed(source, decision.Target);
                // The package's messages may quote a value of the body, such as a presigned document link.
                Log.ConditionFailed(logger, source, decision.Target, eventId, Redaction.RedactUrlQueries(decision.Detail ?? ""));
            }
        }
    }

    /// <summary>Those of <paramref name="targets"/> ordered by key (<c>ordering: key</c>); usually none.</summary>
    private string[]? OrderedAmong(IReadOnlyList<string> targets)
    {
        var config = configProvider.Current.Config.Targets;
        bool IsOrdered(string t) => config.TryGetValue(t, out var target) && target.OrderedByKey;
        return targets.Any(IsOrdered) ? [.. targets.Where(IsOrdered)] : null;
    }

    private static partial class Log
    {
        [LoggerMessage(2005, LogLevel.Debug, "Source {Source}: the condition (when) of the route to {Target} failed for event {EventId}, so it did not match: {Detail}.")]
        public static partial void ConditionFailed(ILogger logger, string source, string target, string eventId, string detail);
    }
}
