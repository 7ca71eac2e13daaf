using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Telemetry;
using Relay.Tests.Admin;
using Relay.Tests.Infrastructure;
using Relay.Tests.Ingress;

namespace Relay.Tests.Hosting;

/// <summary>
/// Readiness means "this pod can serve at all": a store outage or a rejected edit is Degraded (200), shown in
/// relay.health.status, with liveness green; the public /readyz never quotes the configuration's errors.
/// </summary>
public sealed class ReadinessTests
{
    private const string Secret = "readiness-secret";

    [Fact]
    public async Task Readiness_StoreDown_DegradedButReadyLiveAndPassThroughServes()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.OnRedis(redis.Address), $"""
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm)}
            reverseProxy:
              routes:
                app: {"{"} clusterId: app, match: {"{"} path: "{"{"}**catch-all{"}"}" {"}"} {"}"}
              clusters:
                app: {"{"} destinations: {"{"} d1: {"{"} address: "{app.Url}" {"}"} {"}"} {"}"}
            """, configure: b => b.Services.Configure<HealthCheckPublisherOptions>(o => (o.Delay, o.Period) = (TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1))));
        using var health = new MetricCollector<int>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.health.status");
        Assert.Equal(("Healthy", "Healthy"), await ReadyAsync(relay));

        redis.Kill();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("down")))).StatusCode);
        var ready = await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(("Degraded", "Degraded"), await ReadyAsync(relay));
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/api/contracts", UriKind.Relative))).StatusCode);
        Assert.Single(app.Received);
        await WaitForGaugeAsync(health, "store", 1);

        await redis.RestartAsync();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while ((await ReadyAsync(relay)).Store != "Healthy")
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the store check did not recover");
            await Task.Delay(100);
        }

        await WaitForGaugeAsync(health, "store", 2);
    }

    [Fact]
    public async Task Readiness_EditRejected_PublicSaysSoWithoutTheErrorsAdminListsThem()
    {
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        var none = await AdminApi.GetAsync(admin, "/admin/config/errors");
        Assert.False(none.GetProperty("rejected").GetBoolean());
        Assert.Equal(0, none.GetProperty("errors").GetArrayLength());

        await relay.RewriteConfigAsync(store, AdminApi.Yaml(crm) + "  broken: { url: \"http://planted-internal-host.example/secret-path\", timeout: whenever }\n");

        var ready = await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var text = await ready.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var config = JsonDocument.Parse(text).RootElement.GetProperty("checks").GetProperty("config");
        Assert.Equal("Degraded", config.GetProperty("status").GetString());
        Assert.Equal(
            "the edited configuration was rejected (1 error(s)); the previous one is in force. The errors are in the log and at GET /admin/config/errors.",
            config.GetProperty("description").GetString());
        Assert.DoesNotContain("whenever", text, StringComparison.Ordinal);
        Assert.DoesNotContain("broken", text, StringComparison.Ordinal);

        var errors = await AdminApi.GetAsync(admin, "/admin/config/errors");
        Assert.True(errors.GetProperty("rejected").GetBoolean());
        Assert.StartsWith("targets:broken:timeout: 'whenever' is not a duration", Assert.Single(errors.GetProperty("errors").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AdminApi.Client(relay, key: null).GetAsync(new Uri("/admin/config/errors", UriKind.Relative))).StatusCode);
    }

    private static async Task<(string Status, string Store)> ReadyAsync(RelayHost relay)
    {
        var report = JsonDocument.Parse(await relay.Client.GetStringAsync(new Uri("/readyz", UriKind.Relative))).RootElement;
        return (report.GetProperty("status").GetString()!, report.GetProperty("checks").GetProperty("store").GetProperty("status").GetString()!);
    }

    private static async Task WaitForGaugeAsync(MetricCollector<int> gauge, string check, int expected)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (true)
        {
            gauge.RecordObservableInstruments();
            if (gauge.LastMeasurement is not null && gauge.GetMeasurementSnapshot().LastOrDefault(m => Equals(m.Tags["check"], check))?.Value == expected)
            {
                return;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"relay.health.status{{check={check}}} did not become {expected}");
            await Task.Delay(100);
        }
    }
}
