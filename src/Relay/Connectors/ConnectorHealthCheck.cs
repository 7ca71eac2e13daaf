using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Relay.Connectors;

/// <summary>
/// Degraded while a connector holds its lease (so no other replica streams) but has had no open stream for longer
/// than its <c>unhealthyAfter</c>: its events are not arriving from anywhere. Never unhealthy: one source's outage must
/// not take the pod out of service, which would stop every other source's webhooks and all pass-through traffic.
/// A standby replica is healthy.
/// </summary>
internal sealed class ConnectorHealthCheck(ConnectorHost connectors, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var running = connectors.Connectors;
        if (running.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no stream sources"));
        }

        var now = time.GetUtcNow();
        var disconnected = new List<string>();
        var lines = new List<string>();
        foreach (var connector in running)
        {
            var status = connector.State.Status;
            var line = status switch
            {
                { Role: ConnectorRole.Holder, Connected: true } => $"{status.Source}: connected",
                { Role: ConnectorRole.Holder } => $"{status.Source}: holds the lease, disconnected ({status.LastError ?? "connecting"})",
                { Role: ConnectorRole.Standby } => $"{status.Source}: standby, held by {status.LeaseHolder ?? "nobody"}",
                _ => $"{status.Source}: {status.Role.ToString().ToLowerInvariant()}",
            };
            lines.Add(line);
            if (status is { Role: ConnectorRole.Holder, Connected: false, DisconnectedSince: { } since } && now - since > connector.Settings.Timing.UnhealthyAfter)
            {
                disconnected.Add(line);
            }
        }

        return Task.FromResult(disconnected.Count > 0
            ? HealthCheckResult.Degraded(string.Join("; ", disconnected))
            : HealthCheckResult.Healthy(string.Join("; ", lines)));
    }
}
