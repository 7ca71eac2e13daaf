using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Ingress;
using Relay.Telemetry;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Ingress;

/// <summary>
/// The ingress admission point: a webhook body is read first, under ingress.maxBufferedBytes, then the request waits
/// for one of ingress.maxConcurrentRequests turns in a queue of ingress.queueLimit; past either limit it is answered
/// 503 with Retry-After, as it is when it could no longer be acked within ingress.ackBudget of its start. A sender that
/// trickles its body never holds a turn; pass-through is never counted.
/// </summary>
public sealed class IngressAdmissionTests
{
    private const string Secret = "admission-secret";

    [Fact]
    public async Task Admission_SlowBodyHoldsNoTurn_OtherRequestsAckedMeanwhile()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 0);
        var admission = relay.Services.GetRequiredService<IngressAdmission>();
        var budget = relay.Services.GetRequiredService<IngressBodyBudget>();

        // Two senders whose bodies are still arriving: they hold their bytes, not the one turn.
        var slowBody = Signing.YousignEvent("slow");
        using var slow = await SendHeadAsync(relay, slowBody, sendBody: 10);
        using var slower = await SendHeadAsync(relay, Signing.YousignEvent("slower"), sendBody: 5);
        await WaitUntilAsync(() => budget.Held > 0, TimeSpan.FromSeconds(10));
        Assert.Equal((0, 0), admission.Load);

        for (var i = 0; i < 3; i++)
        {
            var answer = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent($"fast-{i}")));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        await slow.GetStream().WriteAsync(Encoding.UTF8.GetBytes(slowBody[10..]));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadAnswerAsync(slow), StringComparison.Ordinal);
        Assert.Equal(4, (await crm.WaitForAsync(4)).Count);

        // The sender that went away gave its share back.
        slower.Close();
        await WaitUntilAsync(() => budget.Held == 0, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Admission_LimitAndQueueFull_503WithRetryAfterWhilePassThroughAnswers()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 0);
        using var requests = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.ingress.requests");
        var admission = relay.Services.GetRequiredService<IngressAdmission>();

        // The one turn is taken, as by a request being verified and stored.
        using (var taken = await TakeTurnAsync(relay))
        {
            Assert.Equal(AdmissionOutcome.Admitted, taken.Outcome);
            var refused = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("refused")));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            Assert.Contains("too many webhook requests in progress", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // Pass-through and health do not count against the limit.
            Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/api/contracts", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
            Assert.Single(app.Received);
            Assert.Equal((1, 0), admission.Load);
        }

        var overloaded = requests.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], "overloaded")).ToList();
        Assert.Equal(1, overloaded.Sum(m => m.Value));
        Assert.Equal("yousign", overloaded[0].Tags["source"]);

        // Nothing was stored for the refused request: the vendor's retry is a first delivery.
        var retried = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("refused")));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Single(await crm.WaitForAsync(1));
    }

    [Fact]
    public async Task Admission_LimitFullWithQueueRoom_QueuedRequestServedWhenATurnFrees()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        // A long ack budget: this test is about the queue, not about giving up on it.
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 1, extra: "ackBudget: 1m");
        var admission = relay.Services.GetRequiredService<IngressAdmission>();
        using var inFlight = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.ingress.in_flight");

        var taken = await TakeTurnAsync(relay);
        Assert.Equal(AdmissionOutcome.Admitted, taken.Outcome);
        var queued = relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("queued")));
        await WaitUntilAsync(() => admission.Load == (1, 1), TimeSpan.FromSeconds(10));
        inFlight.RecordObservableInstruments();
        Assert.Equal(
            [("admitted", 1L), ("queued", 1L)],
            inFlight.GetMeasurementSnapshot().Select(m => ((string)m.Tags["state"]!, m.Value)).Order());
        Assert.False(queued.IsCompleted);

        taken.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
        Assert.Single(await crm.WaitForAsync(1));
        await WaitUntilAsync(() => admission.Load == (0, 0), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task BodyBudget_Exhausted_503BeforeMoreIsReadAndNothingLost()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        // The smallest budget the body limit allows: one body as large as the limit.
        await using var relay = await StartAsync(app, crm, maxConcurrent: 4, queue: 4, extra: "maxBodyBytes: 8192, maxBufferedBytes: 8193");
        var budget = relay.Services.GetRequiredService<IngressBodyBudget>();
        using var buffered = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.ingress.buffered");

        // A body announced at 6 kB, partly sent, holds 6 kB of the 8 kB.
        var bigBody = Padded("big", 6000);
        using var big = await SendHeadAsync(relay, bigBody, sendBody: 100);
        await WaitUntilAsync(() => budget.Held > 6000, TimeSpan.FromSeconds(10));
        buffered.RecordObservableInstruments();
        Assert.Equal(budget.Held, buffered.LastMeasurement!.Value);

        var refused = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Padded("refused", 3000)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("too much webhook data in progress", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A small one still fits beside it.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("small")))).StatusCode);

        await big.GetStream().WriteAsync(Encoding.UTF8.GetBytes(bigBody[100..]));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadAnswerAsync(big), StringComparison.Ordinal);
        await WaitUntilAsync(() => budget.Held == 0, TimeSpan.FromSeconds(5));

        // The vendor's retry of the refused one is taken once there is room.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Padded("refused", 3000)))).StatusCode);
        Assert.Equal(3, (await crm.WaitForAsync(3)).Count);
    }

    [Fact]
    public async Task BodyBudget_AnnouncedLengthNotTrusted_ShareGrowsOnlyAsBytesArrive()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 4, queue: 4);
        var budget = relay.Services.GetRequiredService<IngressBodyBudget>();

        // Announces 1,000,000 bytes and sends one: it holds the first buffer (64 kB), not a megabyte.
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, relay.Client.BaseAddress!.Port);
        await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes(
            "POST /hooks/yousign HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"));
        await WaitUntilAsync(() => budget.Held > 0, TimeSpan.FromSeconds(10));
        Assert.InRange(budget.Held, 1, 64 * 1024 + 1);
        socket.Close();
        await WaitUntilAsync(() => budget.Held == 0, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AckBudget_QueuedUntilItCouldNoLongerBeAckedInTime_503WithRetryAfterAndNothingStored()
    {
        var time = new VirtualTime();
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 4, configure: time.Use);
        using var requests = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.ingress.requests");
        var admission = relay.Services.GetRequiredService<IngressAdmission>();
        var body = Signing.YousignEvent("late");

        using (var taken = await TakeTurnAsync(relay))
        {
            // No ack yet, so no time is set aside for one: the request may wait out the whole budget (1 s by default).
            Assert.Equal(AdmissionOutcome.Admitted, taken.Outcome);
            Assert.Equal(TimeSpan.Zero, admission.AckTime);

            // The request starts, and 600 ms pass on the relay's clock while its body arrives: they count.
            using var late = await SendSlowlyAsync(relay, time, body, TimeSpan.FromMilliseconds(600));
            await WaitUntilAsync(() => admission.Load == (1, 1), TimeSpan.FromSeconds(10));

            // 999 ms after its start it still waits for the turn.
            time.Clock.Advance(TimeSpan.FromMilliseconds(399));
            await Task.Delay(300);
            Assert.Equal((1, 1), admission.Load);
            Assert.Equal(0, late.Available);

            // At 1 s it could no longer be acked in time: 503 and out of the queue, the store untouched.
            time.Clock.Advance(TimeSpan.FromMilliseconds(1));
            var answer = await ReadAnswerAsync(late);
            Assert.StartsWith("HTTP/1.1 503 ", answer, StringComparison.Ordinal);
            Assert.Contains("\r\nRetry-After: 5\r\n", answer, StringComparison.Ordinal);
            Assert.Contains("wait too long to be acked in time", answer, StringComparison.Ordinal);
            Assert.Equal((1, 0), admission.Load);
        }

        // Nothing was stored: the vendor's retry is a new event, not a duplicate, and is delivered once.
        var retried = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Single(await crm.WaitForAsync(1));
        var outcomes = requests.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags["outcome"]!).ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(new Dictionary<string, long> { ["late"] = 1, ["accepted"] = 1 }, outcomes);
    }

    [Fact]
    public async Task AckBudget_TurnToAckTakesLong_QueuedRequestGivesUpThatMuchSooner()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 1, queue: 4);
        var admission = relay.Services.GetRequiredService<IngressAdmission>();

        // A first callback opens the client's connection and warms the relay up, so the timing below is the wait alone.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("first")))).StatusCode);

        // A request held its turn for half a second before it was acked: acks now take that long once admitted.
        using (var slow = await TakeTurnAsync(relay))
        {
            await Task.Delay(500);
            admission.Acked(slow);
        }

        var ackTime = admission.AckTime;
        Assert.InRange(ackTime, TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(900));

        using var taken = await TakeTurnAsync(relay);
        var sent = Stopwatch.GetTimestamp();
        var refused = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("refused")));
        var elapsed = Stopwatch.GetElapsedTime(sent);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);

        // It waited until budget - ack time after its start (the client's clock started a little before) and was answered
        // within the 1 s budget: not at once, and not after waiting out the whole budget. The give-up is a timer, and
        // timers run on a millisecond tick, so it may come up to a millisecond before the stopwatch says (seen: 0.6 ms).
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1) - ackTime - TimeSpan.FromMilliseconds(2), TimeSpan.FromSeconds(1));
        Assert.Single(await crm.WaitForAsync(1));
    }

    [Fact]
    public async Task AckBudget_TurnFreeButTooLate_HandedBackUnlessNothingElseIsInProgress()
    {
        var time = new VirtualTime();
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm, maxConcurrent: 2, queue: 0, configure: time.Use);
        var budget = relay.Services.GetRequiredService<IngressBodyBudget>();
        var body = Signing.YousignEvent("slow-sender");

        // Twice the budget to send its body: a free turn would only give a late ack, so it is handed back.
        using (var other = await TakeTurnAsync(relay))
        {
            using var late = await SendSlowlyAsync(relay, time, body, TimeSpan.FromSeconds(2));
            var answer = await ReadAnswerAsync(late);
            Assert.StartsWith("HTTP/1.1 503 ", answer, StringComparison.Ordinal);
            Assert.Contains("\r\nRetry-After: 5\r\n", answer, StringComparison.Ordinal);
        }

        // With nothing else in progress it is taken all the same: some request must be, for the relay to learn how long
        // acks take now.
        await WaitUntilAsync(() => budget.Held == 0, TimeSpan.FromSeconds(10));
        using var alone = await SendSlowlyAsync(relay, time, body, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadAnswerAsync(alone), StringComparison.Ordinal);
        Assert.Single(await crm.WaitForAsync(1));
    }

    [Fact]
    public void Config_IngressLimits_DefaultsAndBounds()
    {
        var (snapshot, _) = Configuration.ConfigLoaderTests.Load("targets:\n  crm: { url: \"http://crm.internal/hook\" }\n");
        var ingress = snapshot!.Config.Ingress;
        Assert.Equal((64, 64, 64L * 1024 * 1024), (ingress.MaxConcurrentRequests, ingress.QueueLimit, ingress.MaxBufferedBytes));

        // A body limit above the default budget raises the budget's default with it.
        var (large, _) = Configuration.ConfigLoaderTests.Load("ingress: { maxBodyBytes: 100000000 }\n");
        Assert.Equal(100_000_001, large!.Config.Ingress.MaxBufferedBytes);

        var (refused, errors) = Configuration.ConfigLoaderTests.Load("ingress: { maxConcurrentRequests: 0, queueLimit: -1, maxBodyBytes: 2048, maxBufferedBytes: 1024 }\n");
        Assert.Null(refused);
        Assert.Contains(errors, e => e.StartsWith("ingress:maxConcurrentRequests: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ingress:queueLimit: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ingress:maxBufferedBytes: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Config_AckBudget_DefaultsToOneSecond()
    {
        var (snapshot, _) = Configuration.ConfigLoaderTests.Load("targets:\n  crm: { url: \"http://crm.internal/hook\" }\n");
        Assert.Equal(TimeSpan.FromSeconds(1), snapshot!.Config.Ingress.AckBudget);

        var (set, _) = Configuration.ConfigLoaderTests.Load("ingress: { ackBudget: 750ms }\n");
        Assert.Equal(TimeSpan.FromMilliseconds(750), set!.Config.Ingress.AckBudget);
    }

    [Theory]
    [InlineData("50ms", "50ms is too short; use at least 100ms.")]
    [InlineData("2m", "2m is too long; use at most 1m.")]
    [InlineData("soon", "'soon' is not a duration.")]
    public void Config_AckBudgetOutOfBounds_RefusedSayingWhatToWrite(string value, string error)
    {
        var (refused, errors) = Configuration.ConfigLoaderTests.Load($"ingress: {{ ackBudget: {value} }}\n");
        Assert.Null(refused);
        Assert.Contains(errors, e => e.StartsWith("ingress:ackBudget: " + error, StringComparison.Ordinal));
    }

    /// <summary>A Yousign event made about <paramref name="bytes"/> longer by a note field.</summary>
    private static string Padded(string eventId, int bytes) =>
        Signing.YousignEvent(eventId).Replace("\"sandbox\":false", "\"sandbox\":false,\"note\":\"" + new string('x', bytes) + "\"", StringComparison.Ordinal);

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

    /// <summary>
    /// Sends a signed Yousign request whose body takes <paramref name="taking"/> of the relay's clock to arrive: the head
    /// and a few bytes, then, once the relay is reading it, the rest. No other body may be in progress.
    /// </summary>
    private static async Task<TcpClient> SendSlowlyAsync(RelayHost relay, VirtualTime time, string body, TimeSpan taking)
    {
        var budget = relay.Services.GetRequiredService<IngressBodyBudget>();
        var socket = await SendHeadAsync(relay, body, sendBody: 10);
        await WaitUntilAsync(() => budget.Held > 0, TimeSpan.FromSeconds(10));
        time.Clock.Advance(taking);
        await socket.GetStream().WriteAsync(Encoding.UTF8.GetBytes(body[10..]));
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

    /// <summary>Takes a turn as a webhook request starting now would, and holds it until disposed.</summary>
    private static ValueTask<IngressTurn> TakeTurnAsync(RelayHost relay) =>
        relay.Services.GetRequiredService<IngressAdmission>().EnterAsync(relay.Services.GetRequiredService<TimeProvider>().GetTimestamp(), CancellationToken.None);

    private static Task<RelayHost> StartAsync(
        FakeTarget app, FakeTarget crm, int maxConcurrent, int queue, string? extra = null, Action<WebApplicationBuilder>? configure = null) =>
        RelayHost.StartAsync(TestStore.Garnet, $"""
            ingress: {"{"} maxConcurrentRequests: {maxConcurrent}, queueLimit: {queue}{(extra is null ? "" : ", " + extra)} {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm)}
            reverseProxy:
              routes:
                app: {"{"} clusterId: app, match: {"{"} path: "{"{"}**catch-all{"}"}" {"}"} {"}"}
              clusters:
                app: {"{"} destinations: {"{"} d1: {"{"} address: "{app.Url}" {"}"} {"}"} {"}"}
            """, configure: configure);
}
