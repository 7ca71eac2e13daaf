using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.Admin;
using Relay.Configuration;
using Relay.Connectors;
using Relay.Dispatch;
using Relay.Ingress;
using Relay.Sources;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Hosting;

/// <summary>The public entry points: <c>builder.AddRelay()</c> and <c>app.MapRelay()</c>.</summary>
public static class RelayHostingExtensions
{
    private static readonly Dictionary<string, string?> QuietLogging = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Yarp"] = "Warning",

        // The embedded store warns at start that it ignores its own logging options because it uses ours.
        ["Logging:LogLevel:ArgParser"] = "Error",
    };

    /// <summary>
    /// Loads relay.yaml (<c>--config</c>, <c>RELAY_CONFIG</c>, or <c>config/relay.yaml</c>; <c>config/relay.dev.yaml</c> in
    /// Development), validates it, and registers every stage. Returns false, having printed every problem, when the
    /// config cannot be used.
    /// </summary>
    public static bool AddRelay(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var file = RelayConfigFile.Choose(
            builder.Configuration["config"], Environment.GetEnvironmentVariable("RELAY_CONFIG"), builder.Environment.IsDevelopment(), Directory.GetCurrentDirectory());
        var path = file.Path;
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"Relay cannot start: config file {path} not found. Pass --config <file> or set RELAY_CONFIG.");
            return false;
        }

        // Quiet defaults, lowest precedence: relay.yaml, appsettings, env vars and --Logging:... all override them.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietLogging });
        builder.Configuration.AddYamlFile(path, reloadOnChange: true);
        builder.Configuration.AddRelayEnvironmentOverrides();
        var kinds = SourceKinds.BuiltIn;
        var (snapshot, errors) = RelayConfigLoader.Load(builder.Configuration, file.Directory, kinds);
        if (snapshot is null)
        {
            Console.Error.WriteLine($"Relay cannot start: {errors.Count} problem(s) in {path}:");
            foreach (var error in errors)
            {
                Console.Error.WriteLine($"  - {error}");
            }

            return false;
        }

        if (!builder.AddRelayAdmin(snapshot.Config.Admin))
        {
            return false;
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Slow-client limits: a vendor that trickles its body or headers is cut off instead of holding a connection.
            kestrel.Limits.MinRequestBodyDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            kestrel.AddServerHeader = false;
        });

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(file);
        services.AddSingleton(sp => new RelayConfigProvider(snapshot, builder.Configuration, file, kinds, sp.GetRequiredService<ILogger<RelayConfigProvider>>()));
        services.AddSingleton<StoreConnection>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreConnection>());
        services.AddSingleton<QueueSignals>();
        services.AddSingleton<EventStore>();
        services.AddSingleton<EventListing>();
        services.AddSingleton<EventOperations>();
        services.AddSingleton<ClusterReports>();
        services.AddSingleton<OrphanedQueues>();
        services.AddSingleton<MinuteCounters>();
        services.AddHostedService(sp => sp.GetRequiredService<MinuteCounters>());
        services.AddRelayTelemetry();
        services.AddSingleton<IngressRouter>();
        services.AddSingleton<IngressAdmission>();
        services.AddSingleton<IngressBodyBudget>();
        services.AddSingleton<EventAcceptor>();
        services.AddSingleton(CircuitSettings.Default);
        services.AddSingleton(LeaseSettings.Default);
        services.AddSingleton<DeferredChecks>();
        services.AddSingleton<DispatchService>();
        services.AddHostedService(sp => sp.GetRequiredService<DispatchService>());
        services.AddHostedService<RetryScheduler>();
        services.AddSingleton<ConnectorHost>();
        services.AddHostedService(sp => sp.GetRequiredService<ConnectorHost>());
        // Readiness means "this pod can serve at all": a store outage, a disconnected stream or a rejected edit is
        // Degraded (still 200), in /readyz and in relay.health.status, never a reason to take the pod out of service.
        services.AddHealthChecks()
            .AddCheck<StoreHealthCheck>("store", failureStatus: HealthStatus.Degraded, tags: ["ready"])
            .AddCheck<ConfigHealthCheck>("config", failureStatus: HealthStatus.Degraded, tags: ["ready"])
            .AddCheck<ConnectorHealthCheck>("connectors", failureStatus: HealthStatus.Degraded, tags: ["ready"])
            .AddCheck<OrphanedQueuesHealthCheck>("orphans", failureStatus: HealthStatus.Degraded, tags: ["ready"]);
        services.AddSingleton<IHealthCheckPublisher, HealthMetricsPublisher>();
        services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.FromSeconds(2);
            o.Period = TimeSpan.FromSeconds(15);
            o.Predicate = c => c.Tags.Contains("ready");
        });
        services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("reverseProxy"));
        return true;
    }

    /// <summary>Webhook paths first (they always win), then health, admin, then pass-through to the existing app.</summary>
    public static WebApplication MapRelay(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRelayAdminPort();
        app.UseMiddleware<IngressMiddleware>();
        app.MapHealthChecks("/healthz", new() { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new() { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthReportWriter.WriteAsync });
        app.MapRelayTelemetry();
        app.MapRelayAdmin();
        app.MapReverseProxy();
        return app;
    }
}
