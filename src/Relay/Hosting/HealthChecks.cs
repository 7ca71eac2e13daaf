using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.Configuration;
using Relay.Store;

namespace Relay.Hosting;

/// <summary>Ready only while the store answers and accepts writes durably (with <c>durability: replicas</c>, confirmed by replicas): an ack needs all of it.</summary>
internal sealed class StoreHealthCheck(StoreConnection connection, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
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
            return HealthCheckResult.Unhealthy($"store unreachable: {ex.GetType().Name}");
        }
    }
}

/// <summary>
/// The configuration in force is always valid; this reports whether the file on disk is too. A rejected edit
/// leaves the relay serving (degraded, still ready) with the last good configuration, and says why.
/// </summary>
internal sealed class ConfigHealthCheck(RelayConfigProvider configProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var errors = configProvider.LastErrors;
        return Task.FromResult(errors.Count == 0
            ? HealthCheckResult.Healthy("configuration valid")
            : HealthCheckResult.Degraded(
                $"the edited configuration was rejected; the previous one is in force: {string.Join(" | ", errors)}",
                data: new Dictionary<string, object> { ["errors"] = errors }));
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
