using System.Text;
using Polly.CircuitBreaker;
using Relay.Configuration;
using Relay.Dispatch;
using Relay.Ingress;
using Relay.Sources;
using Relay.Store;

namespace Relay.Admin;

/// <summary>Targets: queue depths, dead letters (list, redrive, purge), pause and resume, test events.</summary>
internal static partial class AdminTargetEndpoints
{
    public const string TestEventType = "relay.test";
    public const string TestEventSource = "relay-admin";

    public static void MapTargetEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/targets", ListAsync);
        var target = admin.MapGroup("/targets/{id}").AddEndpointFilter(RequireConfiguredTarget);
        target.MapGet("/dead-letters", DeadLettersAsync);
        target.MapGet("/blocked", BlockedAsync);
        target.MapPost("/dead-letters/redrive", RedriveAsync);
        target.MapPost("/replay", ReplayRangeAsync);
        target.MapDelete("/dead-letters", PurgeAsync);
        target.MapPost("/pause", static ([AsParameters] PauseCall call) => SetPausedAsync(call, paused: true));
        target.MapPost("/resume", static ([AsParameters] PauseCall call) => SetPausedAsync(call, paused: false));
        target.MapPost("/test", SendTestAsync);
    }

    /// <summary>Every call under /targets/{id} is about a target of the configuration in force; others are 404.</summary>
    private static ValueTask<object?> RequireConfiguredTarget(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var id = (string)context.HttpContext.Request.RouteValues["id"]!;
        var targets = context.HttpContext.RequestServices.GetRequiredService<RelayConfigProvider>().Current.Config.Targets;
        return targets.ContainsKey(id) ? next(context) : ValueTask.FromResult<object?>(AdminProblems.UnknownTarget(id));
    }

    private static async Task<IResult> ListAsync(EventStore store, EventListing listing, RelayConfigProvider configProvider, DispatchService dispatch)
    {
        var ids = configProvider.Current.Config.Targets.Keys.Order(StringComparer.Ordinal).ToArray();
        var counts = await Task.WhenAll(ids.Select(store.CountAsync)).ConfigureAwait(false);
        var paused = await listing.PausedTargetsAsync().ConfigureAwait(false);
        var views = ids.Select((id, i) => new TargetView(
            id, counts[i].Ready, counts[i].InFlight, counts[i].Retrying, counts[i].Dead, paused.Contains(id), CircuitName(dispatch.CircuitOf(id))));
        return TypedResults.Json(new TargetListView([.. views]), AdminJson.Readable.TargetListView);
    }

    private static async Task<IResult> DeadLettersAsync(string id, HttpRequest request, EventListing store)
    {
        if (!PageQuery.TryRead(request, out var page, out var problem))
        {
            return problem!;
        }

        var dead = await store.ListDeadLettersAsync(id, page.Limit, page.After).ConfigureAwait(false);
        return TypedResults.Json(
            new DeadLetterListView(id, [.. dead.Items.Select(EventRedaction.ToView)], PageQuery.Encode(dead.Next)),
            AdminJson.Readable.DeadLetterListView);
    }

    private static async Task<IResult> BlockedAsync(string id, EventListing listing)
    {
        var blocked = await listing.BlockedKeysAsync(id).ConfigureAwait(false);
        return TypedResults.Json(
            new BlockedKeyListView(id, [.. blocked.Select(b => new BlockedKeyView(b.OrderingKey, b.EventId, b.Since, b.Reason, b.Waiting))]),
            AdminJson.Readable.BlockedKeyListView);
    }

    /// <summary>Every dead letter, or only those named in <c>{"ids": [...]}</c>.</summary>
    private static async Task<IResult> RedriveAsync(string id, HttpRequest request, EventOperations operations, ILoggerFactory loggers)
    {
        var (body, problem) = await AdminBody.ReadAsync(request, AdminJson.Readable.RedriveRequest, """{"ids": ["evt_..."]}""").ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body?.Ids is { Count: 0 } || body?.Ids?.Any(string.IsNullOrWhiteSpace) == true)
        {
            return AdminProblems.BadRequest("ids must name at least one dead letter; leave it out to redrive them all.");
        }

        var moved = body?.Ids is { } ids
            ? await operations.RedriveAsync(id, ids).ConfigureAwait(false)
            : await operations.RedriveAsync(id).ConfigureAwait(false);
        Log.Redriven(loggers.CreateLogger(AdminEndpoints.LogCategory), id, moved);
        return TypedResults.Json(new RedriveView(id, moved), AdminJson.Readable.RedriveView);
    }

    /// <summary>
    /// Replays every event routed to the target and received in [from, to), or with <c>dryRun</c> only counts them:
    /// Svix's "recover since", Hookdeck's bulk retry. The range may not be wider than the store's retention.
    /// </summary>
    private static async Task<IResult> ReplayRangeAsync(string id, HttpRequest request, EventOperations operations, StoreConnection connection, ILoggerFactory loggers)
    {
        const string Example = """{"from": "2026-12-01T09:00:00Z", "to": "2026-12-01T10:00:00Z", "dryRun": true}""";
        var (body, problem) = await AdminBody.ReadAsync(request, AdminJson.Readable.RangeReplayRequest, Example).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body is null
            || !EventSearchQuery.TryReadTime(body.From, "from", out var from, out problem)
            || !EventSearchQuery.TryReadTime(body.To, "to", out var to, out problem)
            || from is null || to is null)
        {
            return problem ?? AdminProblems.BadRequest($"Send the range as {Example}.");
        }

        var retention = connection.Config.Retention;
        if (from >= to || to - from > retention)
        {
            return AdminProblems.BadRequest(from >= to
                ? "from must be before to."
                : $"The range is wider than store.retention ({Configuration.Durations.Format(retention)}); events older than that are gone. Narrow it.");
        }

        var replay = await operations.ReplayRangeAsync(id, from.Value, to.Value, body.DryRun).ConfigureAwait(false);
        if (!body.DryRun)
        {
            Log.RangeReplayed(loggers.CreateLogger(AdminEndpoints.LogCategory), id, from.Value, to.Value, replay.Matched, replay.Queued);
        }

        return TypedResults.Json(new RangeReplayView(id, replay.Matched, body.DryRun, body.DryRun ? null : replay.Queued), AdminJson.Readable.RangeReplayView);
    }

    private static async Task<IResult> PurgeAsync(string id, EventOperations operations, ILoggerFactory loggers)
    {
        var purged = await operations.PurgeDeadAsync(id).ConfigureAwait(false);
        Log.Purged(loggers.CreateLogger(AdminEndpoints.LogCategory), id, purged);
        return TypedResults.Json(new PurgeView(id, purged), AdminJson.Readable.PurgeView);
    }

    /// <summary>
    /// The flag lives in the store, so it holds for every replica and across restarts. This replica's dispatcher
    /// reads it again at once (and the store wakes it on a resume); other replicas notice within a poll interval.
    /// </summary>
    private static async Task<IResult> SetPausedAsync(PauseCall call, bool paused)
    {
        var id = call.Id;
        await call.Operations.SetPausedAsync(id, paused).ConfigureAwait(false);
        call.Dispatch.PauseChanged(id);

        Log.PauseChanged(call.Loggers.CreateLogger(AdminEndpoints.LogCategory), id, paused ? "paused" : "resumed");
        return TypedResults.Json(new PauseView(id, paused), AdminJson.Readable.PauseView);
    }

    /// <summary>
    /// Queues a small synthetic event (type relay.test, source relay-admin) for this one target, through the same
    /// accept path as a vendor's event: a source of its own whose one route goes to the target.
    /// </summary>
    private static async Task<IResult> SendTestAsync(string id, HttpContext context, EventAcceptor acceptor, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var testId = Guid.NewGuid().ToString("N");
        var body = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(
            new TestEventBody(TestEventType, testId, id, now), AdminJson.Default.TestEventBody));

        // The test id is unique, so its dedupe entry only has to outlive this call.
        var source = new SourceConfig(TestEventSource, TestEventSource, null, new AckConfig(202, null, ""), TimeSpan.FromMinutes(1), [new RouteConfig(id, [], [])]);
        var accepted = await acceptor.AcceptAsync(
            source, [new IncomingEvent(testId, TestEventType, [], testId)], new EventOrigin("POST", "", "application/json", [], body), now).ConfigureAwait(false);
        var eventId = accepted.Results[0].EventId;
        context.Response.Headers.Location = $"{AdminEndpoints.Prefix}/events/{eventId}";
        return TypedResults.Json(new TestEventView(eventId, id), AdminJson.Readable.TestEventView, statusCode: StatusCodes.Status202Accepted);
    }

    private static string CircuitName(CircuitState? state) => state switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half-open",
        CircuitState.Isolated => "isolated",
        _ => "unknown",
    };

    private static partial class Log
    {
        [LoggerMessage(4102, LogLevel.Information, "Admin: {Count} dead letters of target {Target} redriven.")]
        public static partial void Redriven(ILogger logger, string target, long count);

        [LoggerMessage(4103, LogLevel.Information, "Admin: {Count} dead letters of target {Target} purged.")]
        public static partial void Purged(ILogger logger, string target, long count);

        [LoggerMessage(4105, LogLevel.Information, "Admin: target {Target}: events received from {From:O} to {To:O} replayed ({Matched} matched, {Queued} queued).")]
        public static partial void RangeReplayed(ILogger logger, string target, DateTimeOffset from, DateTimeOffset to, long matched, long queued);

        [LoggerMessage(4104, LogLevel.Information, "Admin: target {Target} {Change}.")]
        public static partial void PauseChanged(ILogger logger, string target, string change);
    }
}

/// <summary>What a pause or resume call needs, bound by the minimal API from the route and services.</summary>
internal readonly record struct PauseCall(string Id, EventOperations Operations, DispatchService Dispatch, ILoggerFactory Loggers);
