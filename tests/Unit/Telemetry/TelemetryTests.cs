using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Telemetry;
using Relay.Tests.Infrastructure;
using Relay.Tests.Ingress;

namespace Relay.Tests.Telemetry;

public sealed class TelemetryTests
{
    private const string Secret = "telemetry-secret-value-42";

    [Fact]
    public async Task Metrics_IngestAndDelivery_CountedByOutcome()
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            ctx.Response.StatusCode = 400;
            return Task.CompletedTask;
        };
        await using var relay = await StartAsync(crm);
        var meters = relay.Services.GetRequiredService<IMeterFactory>();
        using var requests = new MetricCollector<long>(meters, RelayMetrics.MeterName, "relay.ingress.requests");
        using var ackDuration = new MetricCollector<double>(meters, RelayMetrics.MeterName, "relay.ingress.ack_duration");
        using var attempts = new MetricCollector<long>(meters, RelayMetrics.MeterName, "relay.dispatch.attempts");
        using var dead = new MetricCollector<long>(meters, RelayMetrics.MeterName, "relay.dispatch.dead_lettered");
        var body = Signing.YousignEvent("m-1");

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body));
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body));
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body, "sha256=00"));
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, "{}"));
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("m-2", requestId: new string('x', 5000))));
        await crm.WaitForAsync(1);
        await dead.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));

        var outcomes = requests.GetMeasurementSnapshot().Select(m => (string)m.Tags["outcome"]!).Order().ToArray();
        Assert.Equal(["accepted", "bad_request", "duplicate", "too_large", "unauthorized"], outcomes);
        Assert.All(requests.GetMeasurementSnapshot(), m => Assert.Equal("yousign", m.Tags["source"]));
        Assert.Equal(5, ackDuration.GetMeasurementSnapshot().Count);
        var attempt = Assert.Single(attempts.GetMeasurementSnapshot());
        Assert.Equal("reject", attempt.Tags["outcome"]);
        Assert.Equal("crm", Assert.Single(dead.GetMeasurementSnapshot()).Tags["target"]);
    }

    [Fact]
    public async Task Metrics_QueueDepthGaugeAndPrometheusEndpoint_ReportDeadLetters()
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            ctx.Response.StatusCode = 410;
            return Task.CompletedTask;
        };
        await using var relay = await StartAsync(crm);
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("q-1")));
        var id = (await crm.WaitForAsync(1))[0].Header("webhook-id");
        await StoreProbe.WaitForStateAsync(relay, id, "crm", "dead");

        using var depth = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.queue.depth");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        long? deadCount = null;
        while (deadCount != 1 && DateTime.UtcNow < deadline)
        {
            depth.RecordObservableInstruments();
            deadCount = depth.GetMeasurementSnapshot().LastOrDefault(m => (string?)m.Tags["state"] == "dead" && (string?)m.Tags["target"] == "crm")?.Value;
            await Task.Delay(250);
        }

        Assert.Equal(1, deadCount);
        var scrape = await relay.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("relay_ingress_requests", scrape);
        Assert.Contains("relay_dispatch_dead_lettered", scrape);

        // Second-scale buckets: a millisecond ack must not share one bucket with everything up to 5 seconds.
        Assert.Matches("relay_ingress_ack_duration_seconds_bucket\\{[^\\n]*le=\"0.005\"", scrape);
        Assert.DoesNotMatch("relay_ingress_ack_duration_seconds_bucket\\{[^\\n]*le=\"7500\"", scrape);
        Assert.Matches("relay_queue_depth[^\\n]*state=\"dead\"[^\\n]* 1", scrape);
    }

    [Fact]
    public async Task Traces_IngestAndEveryAttempt_ShareOneTraceWithWebhookId()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Relay",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, n) =>
        {
            ctx.Response.StatusCode = n == 1 ? 503 : 200;
            return Task.CompletedTask;
        };
        await using var relay = await StartAsync(crm, schedule: "[100ms]");

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("trace-1", requestId: "trace-sr")));
        var id = (await crm.WaitForAsync(2))[0].Header("webhook-id");
        await StoreProbe.WaitForStateAsync(relay, id, "crm", "delivered");
        await Task.Delay(200);

        var ingest = Assert.Single(spans, s => s.OperationName == "relay.ingest" && s.Events.Any(e => e.Tags.Any(t => (string?)t.Value == id)));
        var deliveries = spans.Where(s => s.OperationName == "relay.deliver" && (string?)s.GetTagItem("webhook.id") == id).ToArray();
        Assert.Equal(2, deliveries.Length);
        Assert.All(deliveries, d => Assert.Equal(ingest.TraceId, d.TraceId));
        Assert.Equal(["1", "2"], deliveries.Select(d => d.GetTagItem("relay.attempt")!.ToString()).Order());
    }

    [Fact]
    public async Task Logs_SecretsAndSignatures_NeverWritten()
    {
        var logs = new CapturedLogs();
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, n) =>
        {
            ctx.Response.StatusCode = n == 1 ? 500 : 422;
            return Task.CompletedTask;
        };
        await using var relay = await StartAsync(crm, schedule: "[100ms]", configure: logs.AttachTo);
        var body = Signing.YousignEvent("log-1");
        var signature = Signing.YousignSignature(Secret, body);
        var forged = Signing.YousignSignature("not-the-secret", body);

        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body));
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body, forged));
        var id = (await crm.WaitForAsync(2))[0].Header("webhook-id");
        await StoreProbe.WaitForStateAsync(relay, id, "crm", "dead");

        Assert.Contains(logs.Lines, l => l.Contains("rejected with 401", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("dead-lettered", StringComparison.Ordinal));
        Assert.DoesNotContain(Secret, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(signature["sha256=".Length..], logs.All, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(forged["sha256=".Length..], logs.All, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Readyz_StoreAndConfig_ReportedAsJson()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(crm);

        var response = await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var report = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("store").GetProperty("status").GetString());
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("config").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    private static Task<RelayHost> StartAsync(FakeTarget crm, string schedule = "[1s]", Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        RelayHost.StartAsync(TestStore.Garnet, $"""
            ingress: {"{"} maxBodyBytes: 4096 {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm, schedule)}
            """, configure: configure);
}
