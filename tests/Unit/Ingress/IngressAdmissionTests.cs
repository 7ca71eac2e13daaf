using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Ingress;
using Relay.Telemetry;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Ingress;

/// <summary>
/// The ingress admission point: webhook requests past ingress.maxConcurrentRequests wait in a short queue, and past
/// ingress.queueLimit are answered 503 with Retry-After before their body is read; pass-through is never counted.
/// </summary>
public sealed class IngressAdmissionTests
{
    private const string Secret = "admission-secret";

    [Fact]
    public async Task Admission_LimitAndQueueFull_503WithRetryAfterBeforeBodyWhilePassThroughAnswers()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 0);
        using var requests = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.ingress.requests");
        var admission = relay.Services.GetRequiredService<IngressAdmission>();

        // One webhook request in progress: its body is still arriving.
        using var slow = await SendHeadAsync(relay, Signing.YousignEvent("slow"), sendBody: 10);
        await WaitUntilAsync(() => admission.Load == (1, 0), TimeSpan.FromSeconds(10));

        // The next gets its answer without sending a byte of its body.
        using var refused = await SendHeadAsync(relay, Signing.YousignEvent("refused"), sendBody: 0);
        var answer = await ReadAnswerAsync(refused);
        Assert.StartsWith("HTTP/1.1 503 ", answer, StringComparison.Ordinal);
        Assert.Contains("\r\nRetry-After: 5\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("too many webhook requests in progress", answer, StringComparison.Ordinal);

        // Pass-through and health do not count against the limit.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/api/contracts", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Single(app.Received);

        var overloaded = requests.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], "overloaded")).ToList();
        Assert.Equal(1, overloaded.Sum(m => m.Value));
        Assert.Equal("yousign", overloaded[0].Tags["source"]);
        Assert.Equal((1, 0), admission.Load);
    }

    [Fact]
    public async Task Admission_LimitFullWithQueueRoom_QueuedRequestServedWhenATurnFrees()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 1);
        var admission = relay.Services.GetRequiredService<IngressAdmission>();
        using var inFlight = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.ingress.in_flight");

        var firstBody = Signing.YousignEvent("first");
        using var first = await SendHeadAsync(relay, firstBody, sendBody: 10);
        await WaitUntilAsync(() => admission.Load == (1, 0), TimeSpan.FromSeconds(10));
        var second = relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("second")));
        await WaitUntilAsync(() => admission.Load == (1, 1), TimeSpan.FromSeconds(10));
        inFlight.RecordObservableInstruments();
        Assert.Equal(
            [("admitted", 1L), ("queued", 1L)],
            inFlight.GetMeasurementSnapshot().Select(m => ((string)m.Tags["state"]!, m.Value)).Order());
        Assert.False(second.IsCompleted);

        await first.GetStream().WriteAsync(Encoding.UTF8.GetBytes(firstBody[10..]));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadAnswerAsync(first), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
        Assert.Equal(2, (await crm.WaitForAsync(2)).Count);
        await WaitUntilAsync(() => admission.Load == (0, 0), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Config_IngressLimits_DefaultsAndBounds()
    {
        var (snapshot, _) = Configuration.ConfigLoaderTests.Load("targets:\n  crm: { url: \"http://crm.internal/hook\" }\n");
        Assert.Equal((64, 64), (snapshot!.Config.Ingress.MaxConcurrentRequests, snapshot.Config.Ingress.QueueLimit));

        var (refused, errors) = Configuration.ConfigLoaderTests.Load("ingress: { maxConcurrentRequests: 0, queueLimit: -1 }\n");
        Assert.Null(refused);
        Assert.Contains(errors, e => e.StartsWith("ingress:maxConcurrentRequests: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ingress:queueLimit: ", StringComparison.Ordinal));
    }

    /// <summary>Sends a signed Yousign request's head and the first <paramref name="sendBody"/> bytes of its body.</summary>
    private static async Task<TcpClient> SendHeadAsync(RelayHost relay, string body, int sendBody)
    {
        var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, relay.Client.BaseAddress!.Port);
        var head = "POST /hooks/yousign HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
            + $"X-Yousign-Signature-256: {Signing.YousignSignature(Secret, body)}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n";
        await socket.GetStream().WriteAsync(Encoding.UTF8.GetBytes(head + body[..sendBody]));
        return socket;
    }

    /// <summary>Reads the answer's status line and headers (and whatever of the body came with them).</summary>
    private static async Task<string> ReadAnswerAsync(TcpClient socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        var answer = new StringBuilder();
        while (!answer.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.GetStream().ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"condition not met within {timeout.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    private static Task<RelayHost> StartAsync(FakeTarget app, FakeTarget crm, int maxConcurrent, int queue) =>
        RelayHost.StartAsync(TestStore.Garnet, $"""
            ingress: {"{"} maxConcurrentRequests: {maxConcurrent}, queueLimit: {queue} {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm)}
            reverseProxy:
              routes:
                app: {"{"} clusterId: app, match: {"{"} path: "{"{"}**catch-all{"}"}" {"}"} {"}"}
              clusters:
                app: {"{"} destinations: {"{"} d1: {"{"} address: "{app.Url}" {"}"} {"}"} {"}"}
            """);
}
