using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Relay.Telemetry;

/// <summary>OpenTelemetry wiring: Relay's meter and traces; Prometheus at /metrics; OTLP when configured.</summary>
internal static class TelemetryExtensions
{
    public static IServiceCollection AddRelayTelemetry(this IServiceCollection services)
    {
        // The standard OTEL_EXPORTER_OTLP_ENDPOINT variable switches OTLP export on; nothing is sent otherwise.
        var otlp = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        services.AddSingleton<RelayMetrics>();
        services.AddHostedService<QueueDepthSampler>();
        services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RelayMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
                metrics.AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(RelayMetrics.ActivitySource.Name);
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
        return services;
    }

    public static void MapRelayTelemetry(this WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics");
}
