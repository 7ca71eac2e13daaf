using Relay.Configuration;
using Relay.Store;

namespace Relay.Admin;

/// <summary>Events: newest-first listing, one event in full, replay.</summary>
internal static partial class AdminEventEndpoints
{
    public static void MapEventEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/events", ListAsync);
        admin.MapGet("/events/{id}", GetAsync);
        admin.MapPost("/events/{id}/replay", ReplayAsync);
    }

    /// <summary>Newest first, paged, filtered by <see cref="EventSearchQuery"/>.</summary>
    private static async Task<IResult> ListAsync(HttpRequest request, EventListing store, RelayConfigProvider configProvider)
    {
        var config = configProvider.Current.Config;
        if (!PageQuery.TryRead(request, out var page, out var problem) || !EventSearchQuery.TryRead(request, config, out var query, out problem))
        {
            return problem!;
        }

        var events = await store.SearchAsync(query, [.. config.Sources.Keys, AdminTargetEndpoints.TestEventSource], [.. config.Targets.Keys], page.Limit, page.After).ConfigureAwait(false);
        var paused = await store.PausedTargetsAsync().ConfigureAwait(false);
        return TypedResults.Json(
            new EventListView([.. events.Items.Select(e => EventRedaction.ToSummary(e, paused))], PageQuery.Encode(events.Next)),
            AdminJson.Readable.EventListView);
    }

    private static async Task<IResult> GetAsync(string id, EventListing store)
    {
        if (await store.GetEventAsync(id).ConfigureAwait(false) is not { } found)
        {
            return AdminProblems.UnknownEvent(id);
        }

        var paused = await store.PausedTargetsAsync().ConfigureAwait(false);
        return TypedResults.Json(EventRedaction.ToView(found, paused), AdminJson.Readable.EventView);
    }

    /// <summary>
    /// Delivers the event again to all its targets, or to the named ones, whatever happened before (also when
    /// delivered). Targets see the same <c>webhook-id</c>, so one that dedupes by it will drop the replay.
    /// </summary>
    private static async Task<IResult> ReplayAsync(
        string id, HttpRequest request, EventListing listing, EventOperations operations, RelayConfigProvider configProvider, ILoggerFactory loggers)
    {
        var (named, problem) = await ReadTargetsAsync(request).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (await listing.GetEventAsync(id).ConfigureAwait(false) is not { } found)
        {
            return AdminProblems.UnknownEvent(id);
        }

        var configured = configProvider.Current.Config.Targets;
        var own = found.Targets.Select(t => t.Target).ToArray();
        IReadOnlyList<string> targets;
        if (named is null)
        {
            targets = [.. own.Where(configured.ContainsKey)];
            if (targets.Count == 0)
            {
                return AdminProblems.Conflict($"Event '{id}' has no target in the current configuration to deliver to (its targets: {List(own)}).");
            }
        }
        else
        {
            foreach (var target in named)
            {
                if (!own.Contains(target, StringComparer.Ordinal))
                {
                    return AdminProblems.BadRequest($"'{target}' is not a target of event '{id}'; its targets are: {List(own)}.");
                }

                if (!configured.ContainsKey(target))
                {
                    return AdminProblems.BadRequest($"Target '{target}' is no longer in the configuration, so nothing would deliver to it.");
                }
            }

            targets = [.. named.Distinct(StringComparer.Ordinal)];
        }

        var outcomes = await operations.ReplayAsync(id, targets).ConfigureAwait(false);
        if (outcomes.Contains(RequeueOutcome.Expired))
        {
            return AdminProblems.UnknownEvent(id);
        }

        Log.Replayed(loggers.CreateLogger(AdminEndpoints.LogCategory), id, string.Join(", ", targets));
        var view = new ReplayView(id, targets.Zip(outcomes).ToDictionary(p => p.First, p => OutcomeName(p.Second), StringComparer.Ordinal));
        request.HttpContext.Response.Headers.Location = $"{AdminEndpoints.Prefix}/events/{Uri.EscapeDataString(id)}";
        return TypedResults.Json(view, AdminJson.Readable.ReplayView, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>The optional body <c>{"targets": [...]}</c>; null targets when there is no body or no list.</summary>
    private static async Task<(IReadOnlyList<string>? Targets, IResult? Problem)> ReadTargetsAsync(HttpRequest request)
    {
        var (body, problem) = await AdminBody.ReadAsync(request, AdminJson.Readable.ReplayRequest, """{"targets": ["crm"]}""").ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem);
        }

        if (body?.Targets is { Count: 0 } || body?.Targets?.Any(string.IsNullOrWhiteSpace) == true)
        {
            return (null, AdminProblems.BadRequest("targets must name at least one target; leave it out to replay to every target of the event."));
        }

        return (body?.Targets, null);
    }

    private static string List(string[] targets) => targets.Length == 0 ? "none" : string.Join(", ", targets);

    private static string OutcomeName(RequeueOutcome outcome) => outcome switch
    {
        RequeueOutcome.Queued => "queued",
        RequeueOutcome.AlreadyQueued => "already-queued",
        RequeueOutcome.InFlight => "in-flight",
        _ => outcome.ToString().ToLowerInvariant(),
    };

    private static partial class Log
    {
        [LoggerMessage(4101, LogLevel.Information, "Admin: event {EventId} replayed to {Targets}.")]
        public static partial void Replayed(ILogger logger, string eventId, string targets);
    }
}
