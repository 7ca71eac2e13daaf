using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.Configuration;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Hosting;

/// <summary>
/// Whether the store answers and accepts writes durably (with <c>durability: replicas</c>, confirmed by replicas: an
/// ack needs all of it), and its partition layout agrees with this replica's, which ingress needs to place events and
/// their dedupe keys where every replica looks. When not, the pod is degraded, not unready: ingress answers 503 with
/// Retry-After by itself (vendors retry), stream sources hold the event in hand, admin answers 503, and pass-through
/// to the existing app keeps working. Taking every pod out of the load balancer on a shared store's outage would only
/// add that app's outage to it, and turn the vendors' clean 503 into connection errors.
/// </summary>
internal sealed class StoreHealthCheck(StoreConnection connection, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (connection.LayoutProblem is { } problem)
        {
            return HealthCheckResult.Degraded(problem);
        }

        if (connection.FullProblem is { } full)
        {
            return HealthCheckResult.Degraded(full);
        }

        try
        {
            var started = time.GetTimestamp();
            var probe = $"{{{connection.Keys.Prefix}}}:readyz";
            await connection.Database.StringSetAsync(probe, time.GetUtcNow().ToUnixTimeMilliseconds(), TimeSpan.FromMinutes(1)).ConfigureAwait(false);
            await connection.WaitDurableAsync(probe).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"store writable in {time.GetElapsedTime(started).TotalMilliseconds:0.#} ms");
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            return HealthCheckResult.Degraded($"store unreachable ({ex.GetType().Name}): webhooks are answered 503 with Retry-After, stream sources wait, until it is back");
        }
    }
}

/// <summary>
/// The configuration in force is always valid; this reports whether the file on disk is too. A rejected edit
/// leaves the relay serving (degraded, still ready) with the last good configuration. /readyz is public, so it only
/// says so: the errors quote keys, paths and values of the file, and are in the log and at <c>GET /admin/config/errors</c>.
/// </summary>
internal sealed class ConfigHealthCheck(RelayConfigProvider configProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var errors = configProvider.LastErrors;
        return Task.FromResult(errors.Count == 0
            ? HealthCheckResult.Healthy("configuration valid")
            : HealthCheckResult.Degraded(
                $"the edited configuration was rejected ({errors.Count} error(s)); the previous one is in force. The errors are in the log and at GET /admin/config/errors."));
    }
}

/// <summary>
/// Runs the readiness checks every few seconds (<see cref="HealthCheckPublisherOptions"/>) and keeps each one's status
/// for the <c>relay.health.status</c> gauge, so a degraded store, stream or configuration shows in metrics without
/// anyone polling /readyz.
/// </summary>
internal sealed class HealthMetricsPublisher(RelayMetrics metrics) : IHealthCheckPublisher
{
    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        metrics.SetHealth(report.Entries.ToDictionary(e => e.Key, e => (int)e.Value.Status, StringComparer.Ordinal));
        return Task.CompletedTask;
    }
}

/// <summary>
/// Degraded (still ready) while a removed or renamed target's queues hold events nobody delivers: the pod serves, but
/// an operator has to move or purge them (admin API <c>/admin/orphans</c>). Looked up at most every
/// <see cref="Refresh"/>, since probes come often and the answer changes only with the configuration.
/// </summary>
internal sealed class OrphanedQueuesHealthCheck(OrphanedQueues orphans, RelayConfigProvider configProvider, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(15);

    private (HealthCheckResult Result, DateTimeOffset At)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_last is { } last && time.GetUtcNow() - last.At < Refresh)
        {
            return last.Result;
        }

        HealthCheckResult result;
        try
        {
            var found = await orphans.FindAsync([.. configProvider.Current.Config.Targets.Keys]).ConfigureAwait(false);
            result = found.Count == 0
                ? HealthCheckResult.Healthy("no orphaned queues")
                : HealthCheckResult.Degraded(
                    $"removed targets still hold events nobody delivers: {string.Join(", ", found.Select(o => $"{o.Target} ({o.Owed})"))}; " +
                    "move or purge them with /admin/orphans");
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            // The store check reports the outage; this one just has nothing to say until the store is back.
            return HealthCheckResult.Healthy("orphaned queues not checked: store unreachable");
        }

        _last = (result, time.GetUtcNow());
        return result;
    }
}

/// <summary>Writes /readyz as JSON: overall status and each check with its description.</summary>
internal static class HealthReportWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        });
    }
}
