using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Relay.Connectors;
using Relay.Sources;
using Relay.Sources.Sovos;
using Relay.Store;
using Relay.Telemetry;
using Relay.Tests.Configuration;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Sources;

/// <summary>
/// <c>sovos-sse</c> against a real fake Sovos (token endpoint and stream on Kestrel), a real relay and real targets:
/// framing, heartbeats, drops, 401s and error frames, the token cache, and logs that never show the client secret, the
/// token or a presigned URL's signature. The runtime around it (leases, reconnects, reloads) is in ConnectorRuntimeTests.
/// </summary>
public sealed class SovosTests
{
    private static readonly Dictionary<string, string> Environment = new() { ["SOVOS_CLIENT_ID"] = "id-from-env", ["SOVOS_CLIENT_SECRET"] = "secret-from-env" };

    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Stream_DropA401AndAnErrorFrame_EachEventDeliveredOnceAndTokenReused(string storeName)
    {
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var metricsAttached = new TaskCompletionSource();
        var a = FakeSovos.Notification("env-1", "SIGNER_VIEWED");
        var b = FakeSovos.Notification("env-2", "REJECTED");
        var c = FakeSovos.Notification("env-1", "COMPLETED");
        var d = FakeSovos.Notification("env-3", "EXPIRED");
        sovos.OnSubscribe = async s =>
        {
            switch (s.Number)
            {
                case 1:
                    await metricsAttached.Task;
                    await s.HeartbeatAsync();
                    await s.EventAsync(a);
                    await s.RawAsync("data:\n\n");
                    await s.EventAsync("""{"result":{}}""");
                    await s.EventAsync(b);

                    // Cut only once both are in: a reset discards whatever the relay has not read yet.
                    while (crm.Received.Count < 2)
                    {
                        await Task.Delay(20);
                    }

                    sovos.RevokeTokens();
                    s.Drop();
                    return;
                case 2:
                    await s.HeartbeatAsync();
                    await s.EventAsync(a);
                    await s.EventAsync(c);
                    await s.ErrorAsync(14, $"upstream unavailable, see http://storage.example/x.pdf?X-Amz-Signature={FakeSovos.PresignedSignature}");
                    await s.WaitForDisconnectAsync();
                    return;
                default:
                    await s.EventAsync(d);
                    await s.ForwardPublishedAsync();
                    return;
            }
        };
        var logs = new CapturedLogs();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """, configure: logs.AttachTo);
        using var reconnects = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.sse.reconnects");
        metricsAttached.SetResult();

        var delivered = await crm.WaitForAsync(4);
        await Task.Delay(500);

        // Duplicates across reconnects dropped: A came twice, was delivered once.
        Assert.Equal(4, crm.Received.Count);
        Assert.Equal(new[] { a, b, c, d }.Order(), delivered.Select(r => r.BodyText).Order());
        Assert.All(delivered, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.StartsWith("application/json", r.Header("Content-Type"));
            Assert.Equal("sovos", r.Header("X-Relay-Source"));
        });
        Assert.Equal(["COMPLETED", "EXPIRED", "REJECTED", "SIGNER_VIEWED"], delivered.Select(r => r.Header("X-Relay-Event-Type")).Order());

        // Ordering key = envelope id: both events of env-1 share its partition.
        var expected = EventIds.PartitionOf("env-1", 4);
        foreach (var body in new[] { a, c })
        {
            Assert.True(EventIds.TryGetPartition(delivered.Single(r => r.BodyText == body).Header("webhook-id"), 4, out var partition));
            Assert.Equal(expected, partition);
        }

        // Token: cached across reconnects (3 connections, 2 tokens), fetched again only after the 401.
        Assert.Equal(3, sovos.Connects);
        Assert.Equal(1, sovos.Refused);
        Assert.Equal(2, sovos.TokensIssued.Count);

        // Reopened after the drop, the 401 and the error frame.
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State.Status;
        Assert.Equal(3, state.Reconnects);
        Assert.Equal(3, reconnects.GetMeasurementSnapshot().EvaluateAsCounter());
        using var connected = new MetricCollector<int>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.sse.connected");
        connected.RecordObservableInstruments();
        var gauge = Assert.Single(connected.GetMeasurementSnapshot());
        Assert.Equal((1, "sovos"), (gauge.Value, gauge.Tags["source"]));
        Assert.True(state is { Role: ConnectorRole.Holder, Connected: true, EventsReceived: 5 }, state.ToString());

        var ready = await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var check = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("connectors");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.Equal("sovos: connected", check.GetProperty("description").GetString());

        var logged = logs.All;
        Assert.Contains("error frame", logged, StringComparison.Ordinal);
        Assert.Contains("envelope env-1 status COMPLETED", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeSovos.ClientSecret, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeSovos.PresignedSignature, logged, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Amz-Credential", logged, StringComparison.Ordinal);
        Assert.All(sovos.TokensIssued, token => Assert.DoesNotContain(token, logged, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stream_NdJson_EventsDeliveredAndBlankLinesIgnored()
    {
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        sovos.NdJson = true;
        var completed = FakeSovos.Notification("env-nd-1", "COMPLETED");
        var cancelled = FakeSovos.Notification("env-nd-2", "CANCELLED");
        sovos.OnSubscribe = async s =>
        {
            await s.HeartbeatAsync();
            await s.EventAsync(completed);
            await s.RawAsync("not json at all\n");
            await s.EventAsync("""{"result":{}}""");
            await s.EventAsync(cancelled);
            await s.ForwardPublishedAsync();
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm, events: [COMPLETED, CANCEL*] }]")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);

        var delivered = await crm.WaitForAsync(2);

        Assert.Equal(new[] { completed, cancelled }.Order(), delivered.Select(r => r.BodyText).Order());
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State.Status;
        Assert.Equal(0, state.Reconnects);
        Assert.Contains("not JSON", state.LastError, StringComparison.Ordinal);
    }

    /// <summary>
    /// A frame that never ends (one endless line, or an SSE event of endless data lines without its blank line) fails the
    /// stream once it passes maxFrameBytes, instead of growing in memory; the relay reconnects and goes on.
    /// </summary>
    [Theory]
    [InlineData("sse-one-line")]
    [InlineData("sse-many-lines")]
    [InlineData("ndjson")]
    public async Task Stream_FrameThatNeverEnds_FailsAtMaxFrameBytesAndReconnects(string shape)
    {
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        sovos.NdJson = shape == "ndjson";
        sovos.OnSubscribe = async s =>
        {
            if (s.Number > 1)
            {
                await s.ForwardPublishedAsync();
                return;
            }

            await s.RawAsync(shape == "sse-many-lines" ? "event: message\n" : shape == "ndjson" ? "{\"result\":\"" : "data: {\"result\":\"");
            var chunk = shape == "sse-many-lines" ? string.Concat(Enumerable.Repeat($"data: {new string('x', 1000)}\n", 64)) : new string('x', 64 * 1024);

            // 8 MiB at most, far past the limit; then wait for the relay to hang up.
            for (var i = 0; i < 128; i++)
            {
                await s.RawAsync(chunk);
            }

            await s.WaitForDisconnectAsync();
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    maxFrameBytes: 65536")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);

        await sovos.WaitForConnectsAsync(2, TimeSpan.FromSeconds(10));
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State.Status;
        Assert.Equal("a frame grew past 65536 bytes without ending (maxFrameBytes); the stream is closed and reopened", state.LastError);

        var completed = FakeSovos.Notification("env-after-giant", "COMPLETED");
        sovos.Publish(completed);
        Assert.Equal(completed, Assert.Single(await crm.WaitForAsync(1)).BodyText);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task FrameLimit_EventsUnderTheLimitWithAnyLineBreak_PassAndOneOverFails(string lineBreak)
    {
        var line = $"data: {new string('x', 600)}{lineBreak}";
        var fine = string.Concat(Enumerable.Repeat($": comment{lineBreak}{line}{lineBreak}", 50));
        var messages = new List<StreamMessage>();
        await foreach (var message in SovosStreamReader.ReadAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(fine)), sse: true, 1024, CancellationToken.None))
        {
            messages.Add(message);
        }

        Assert.Equal(50, messages.Count);
        var tooLong = System.Text.Encoding.UTF8.GetBytes(fine + line + line + lineBreak);
        var error = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var message in SovosStreamReader.ReadAsync(new MemoryStream(tooLong), sse: true, 1024, CancellationToken.None))
            {
            }
        });
        Assert.StartsWith("a frame grew past 1024 bytes", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// In virtual time: a stream request whose answer never comes (no status, no headers) is given up after
    /// responseHeadersTimeout, reported, and retried; the connector does not hang on it holding the lease.
    /// </summary>
    [Fact]
    public async Task Stream_NoResponseHeaders_GivenUpAfterTimeoutAndRetried()
    {
        var time = new VirtualTime();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        sovos.WithholdHeaders = static n => n == 1;
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    responseHeadersTimeout: 20s")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """, configure: time.Use);
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State;
        await WaitUntilAsync(() => state.Status.Role == ConnectorRole.Holder, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1));
        var sentAt = time.Now;

        Assert.True(await time.AdvanceUntilAsync(() => sovos.Connects == 1, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(20)), $"still waiting for headers: {state.Status}");
        Assert.InRange(time.Now - sentAt, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(22));
        Assert.Equal(1, sovos.Withheld);
        Assert.Equal(1, state.Status.Reconnects);
        Assert.Equal("no response headers within 20 s (responseHeadersTimeout)", state.Status.LastError);

        var completed = FakeSovos.Notification("env-after-hang", "COMPLETED");
        sovos.Publish(completed);
        Assert.Equal(completed, Assert.Single(await crm.WaitForAsync(1)).BodyText);
    }

    [Fact]
    public void Config_StreamSource_NeedsNoPathAndGetsDefaults()
    {
        var (snapshot, errors) = ConfigLoaderTests.Load("""
            sources:
              sovos:
                kind: sovos-sse
                url: https://signer.example/events/v1/subscribe
                tokenUrl: https://accounts.example/oauth2/token
                clientId: ${SOVOS_CLIENT_ID}
                clientSecret: ${SOVOS_CLIENT_SECRET}
                routes: [{ target: crm, events: ["COMPLETED"] }]
            targets:
              crm: { url: "http://crm.internal/hook" }
            """, Environment);

        Assert.Empty(errors);
        Assert.Empty(snapshot!.Sources);
        var connector = Assert.Single(snapshot.Connectors);
        var settings = Assert.IsType<SovosSseConfig>(connector.Settings);
        Assert.Null(connector.Config.Path);
        Assert.Equal("crm", Assert.Single(connector.Config.Routes).Target);
        Assert.Same(connector.Config, snapshot.Config.Sources["sovos"]);
        Assert.Equal(("id-from-env", "secret-from-env", SovosSseKind.DefaultAudience), (settings.ClientId, settings.ClientSecret, settings.Audience));
        Assert.Equal((SovosStreamFormat.Auto, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10)),
            (settings.Format, settings.Timing.ReconnectInitialDelay, settings.Timing.ReconnectMaxDelay, settings.Timing.LeaseTtl));
        Assert.Equal((1024 * 1024, TimeSpan.FromSeconds(30)), (settings.MaxFrameBytes, settings.ResponseHeadersTimeout));
        Assert.DoesNotContain("secret-from-env", settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Config_StreamSourceMistakes_EachNamesItsKeyAndTheFix()
    {
        var (snapshot, errors) = ConfigLoaderTests.Load("""
            sources:
              sovos:
                kind: sovos-sse
                path: /hooks/sovos
                url: "ftp://signer.example/events?sig=planted-query-secret"
                clientSecret: ""
                format: xml
                maxFrameBytes: 100
                responseHeadersTimeout: 0s
                reconnect: { initialDelay: 10s, maxDelay: 2s }
                routes: [{ target: crm }]
            targets:
              crm: { url: "http://crm.internal/hook" }
            """, Environment);

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:path: does not apply to kind 'sovos-sse'", StringComparison.Ordinal) && e.Contains("Remove path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:url: ", StringComparison.Ordinal) && e.Contains("not an absolute http or https URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:tokenUrl: is required.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:clientId: is required.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:clientSecret: is required.", StringComparison.Ordinal) && e.Contains("SOVOS_CLIENT_SECRET", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:format: 'xml' is not one of: auto, sse, ndjson", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:reconnect:maxDelay: ", StringComparison.Ordinal) && e.Contains("shorter than initialDelay", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:maxFrameBytes: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("sources:sovos:responseHeadersTimeout: ", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("planted-query-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stream_SilentLongerThanIdleTimeout_ReopenedButHeartbeatsKeepItOpen()
    {
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        sovos.OnSubscribe = static async s =>
        {
            if (s.Number == 1)
            {
                await s.WaitForDisconnectAsync();
                return;
            }

            while (true)
            {
                await s.HeartbeatAsync();
                await Task.Delay(200);
            }
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    idleTimeout: 1s")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);

        await sovos.WaitForConnectsAsync(2, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.Equal(2, sovos.Connects);
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State.Status;
        Assert.Equal("nothing received for 1 s", state.LastError);
        Assert.Equal(1, state.Reconnects);
        Assert.Single(sovos.TokensIssued);
    }

    [Fact]
    public async Task Token_CachedUntilEightyPercentOfLifetime_ThenFetchedAgain()
    {
        await using var sovos = await FakeSovos.StartAsync();
        sovos.TokenLifetime = TimeSpan.FromSeconds(100);
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var http = new HttpClient();
        using var tokens = new SovosTokenClient(http, Config(sovos), time);

        var first = await tokens.GetAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(79));
        Assert.Equal(first, await tokens.GetAsync(CancellationToken.None));
        Assert.Single(sovos.TokensIssued);

        time.Advance(TimeSpan.FromSeconds(2));
        var second = await tokens.GetAsync(CancellationToken.None);
        Assert.NotEqual(first, second);
        Assert.Equal(2, sovos.TokensIssued.Count);

        // A 401 from the stream drops the token at once; a stale token being dropped changes nothing.
        tokens.Invalidate(first);
        Assert.Equal(second, await tokens.GetAsync(CancellationToken.None));
        tokens.Invalidate(second);
        Assert.NotEqual(second, await tokens.GetAsync(CancellationToken.None));
        Assert.Equal(3, sovos.TokensIssued.Count);
    }

    [Fact]
    public async Task Token_WrongSecret_ErrorNamesOAuthCodeButNotTheSecret()
    {
        await using var sovos = await FakeSovos.StartAsync();
        using var http = new HttpClient();
        using var tokens = new SovosTokenClient(http, Config(sovos) with { ClientSecret = "wrong-planted-secret" }, TimeProvider.System);

        var error = await Assert.ThrowsAsync<SovosTokenException>(() => tokens.GetAsync(CancellationToken.None));

        Assert.Equal("token endpoint answered 401 (invalid_client)", error.Message);
        Assert.Empty(sovos.TokensIssued);
    }

    [Theory]
    [InlineData(3600, 3540)]
    [InlineData(100, 80)]
    [InlineData(2, 1.6)]
    public void RefreshAt_LaterOfEightyPercentAndSixtySecondsBefore(double lifetimeSeconds, double refreshAfterSeconds)
    {
        var issued = DateTimeOffset.UnixEpoch;
        Assert.Equal(issued.AddSeconds(refreshAfterSeconds), SovosTokenClient.RefreshAt(issued, TimeSpan.FromSeconds(lifetimeSeconds)));
    }

    [Theory]
    [InlineData("""{"result":{"message":{"envelopeId":"e1","status":"COMPLETED"}}}""", "Event", "e1", "COMPLETED")]
    [InlineData("""{"message":{"envelopeId":"e2","status":"REJECTED"}}""", "Event", "e2", "REJECTED")]
    [InlineData("""{"envelopeId":"e3","status":"SOMETHING_NEW"}""", "Event", "e3", "SOMETHING_NEW")]
    [InlineData("""{"error":{"code":16,"message":"unauthenticated"}}""", "Error", "", "")]
    [InlineData("""{"result":{}}""", "Ignored", "", "")]
    [InlineData("""{"result":{"message":{"envelopeId":"e4"}}}""", "Ignored", "", "")]
    [InlineData("   ", "Ignored", "", "")]
    [InlineData("[1,2]", "Ignored", "", "")]
    [InlineData("{not json", "Invalid", "", "")]
    public void Frame_Parse_ClassifiesEventsErrorsAndHeartbeats(string data, string kind, string envelopeId, string status)
    {
        var frame = SovosFrame.Parse(System.Text.Encoding.UTF8.GetBytes(data));
        Assert.Equal((kind, envelopeId, status), (frame.Kind.ToString(), frame.EnvelopeId, frame.Status));
    }

    [Fact]
    public void Frame_Parse_InvalidUtf8InsideAString_Invalid()
    {
        var frame = SovosFrame.Parse(Signing.JsonWithInvalidUtf8("envelopeId", ",\"status\":\"COMPLETED\""));

        Assert.Equal(SovosFrameKind.Invalid, frame.Kind);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"condition not met within {timeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    private static SovosSseConfig Config(FakeSovos sovos) => new(
        sovos.StreamUrl, sovos.TokenUrl, FakeSovos.ClientId, FakeSovos.ClientSecret, FakeSovos.Audience, null, SovosStreamFormat.Auto, TimeSpan.FromMinutes(5),
        TimeSpan.FromSeconds(30), SovosSseKind.DefaultMaxFrameBytes, new ConnectorTiming(TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)));
}
