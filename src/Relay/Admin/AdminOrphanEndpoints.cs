using Relay.Configuration;
using Relay.Store;

namespace Relay.Admin;

/// <summary>
/// Orphaned queues: what a removed or renamed target still owes, listed, then moved to a configured target or purged.
/// </summary>
internal static partial class AdminOrphanEndpoints
{
    public static void MapOrphanEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/orphans", ListAsync);
        admin.MapPost("/orphans/{id}/move", MoveAsync);
        admin.MapDelete("/orphans/{id}", PurgeAsync);
    }

    private static async Task<IResult> ListAsync(OrphanedQueues orphans, RelayConfigProvider configProvider)
    {
        var found = await orphans.FindAsync(ConfiguredTargets(configProvider)).ConfigureAwait(false);
        return TypedResults.Json(
            new OrphanListView([.. found.Select(o => new OrphanView(o.Target, o.Counts.Ready, o.Counts.InFlight, o.Counts.Retrying, o.Counts.Dead))]),
            AdminJson.Readable.OrphanListView);
    }

    /// <summary>Gives the orphan's events to a configured target: <c>{"to": "crm"}</c>.</summary>
    private static async Task<IResult> MoveAsync(string id, HttpRequest request, OrphanedQueues orphans, RelayConfigProvider configProvider, ILoggerFactory loggers)
    {
        var (body, problem) = await AdminBody.ReadAsync(request, AdminJson.Readable.OrphanMoveRequest, """{"to": "crm"}""").ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var configured = ConfiguredTargets(configProvider);
        if (body?.To is not { Length: > 0 } to)
        {
            return AdminProblems.BadRequest("""Name the target that takes over the events: {"to": "crm"}.""");
        }

        if (!configured.Contains(to))
        {
            return AdminProblems.BadRequest($"'{to}' is not a target of the current configuration; events can only move to one.");
        }

        if (await RefuseAsync(id, orphans, configured).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var moved = await orphans.SettleAsync(id, to).ConfigureAwait(false);
        Log.Moved(loggers.CreateLogger(AdminEndpoints.LogCategory), id, to, moved);
        return TypedResults.Json(new OrphanMoveView(id, to, moved), AdminJson.Readable.OrphanMoveView);
    }

    private static async Task<IResult> PurgeAsync(string id, OrphanedQueues orphans, RelayConfigProvider configProvider, ILoggerFactory loggers)
    {
        if (await RefuseAsync(id, orphans, ConfiguredTargets(configProvider)).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var purged = await orphans.SettleAsync(id, to: null).ConfigureAwait(false);
        Log.Purged(loggers.CreateLogger(AdminEndpoints.LogCategory), id, purged);
        return TypedResults.Json(new PurgeView(id, purged), AdminJson.Readable.PurgeView);
    }

    /// <summary>A target some replica still delivers to is not an orphan (409); nor is one that owes nothing (404).</summary>
    private static async Task<IResult?> RefuseAsync(string id, OrphanedQueues orphans, IReadOnlyCollection<string> configured)
    {
        if (await orphans.IsDeliveredAsync(id, configured).ConfigureAwait(false))
        {
            return AdminProblems.Conflict(
                $"Target '{id}' is configured on this replica or another live one, so its queues are not orphaned. Remove it from every replica's configuration first.");
        }

        var found = await orphans.FindAsync(configured).ConfigureAwait(false);
        return found.Any(o => o.Target == id)
            ? null
            : AdminProblems.NotFound("No orphaned queue", $"No removed target '{id}' holds events; GET /admin/orphans lists those that do.");
    }

    private static HashSet<string> ConfiguredTargets(RelayConfigProvider configProvider) =>
        [.. configProvider.Current.Config.Targets.Keys];

    private static partial class Log
    {
        [LoggerMessage(4106, LogLevel.Information, "Admin: {Count} events of removed target {Target} moved to {To}.")]
        public static partial void Moved(ILogger logger, string target, string to, long count);

        [LoggerMessage(4107, LogLevel.Information, "Admin: {Count} events of removed target {Target} purged.")]
        public static partial void Purged(ILogger logger, string target, long count);
    }
}
