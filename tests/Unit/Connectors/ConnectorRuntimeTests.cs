using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Relay.Connectors;
using Relay.Store;
using Relay.Telemetry;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Connectors;

/// <summary>
/// The connector runtime, driven through the <c>sovos-sse</c> kind against a fake Sovos on Kestrel: one stream per
/// cluster through the store lease (taken, renewed, lost, released, taken over after kill -9), reconnect backoff,
/// reloads that stop and start connectors, and readiness.
/// </summary>
public sealed class ConnectorRuntimeTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [InlineData(1, 0.0, 500)]
    [InlineData(1, 0.999999, 1000)]
    [InlineData(2, 0.0, 1000)]
    [InlineData(4, 0.0, 4000)]
    [InlineData(7, 0.0, 30000)]
    [InlineData(50, 0.999999, 60000)]
    public void ReconnectBackoff_DoublesFromInitialToMax_WithEqualJitter(int failures, double random, double expectedMs)
    {
        var delay = ReconnectBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), random);
        Assert.Equal(expectedMs, delay.TotalMilliseconds, 0.5);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Lease_OneOwnerAtATime_RenewAndReleaseOnlyByTheHolder(string storeName)
    {
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), "targets:\n  crm: { url: \"http://127.0.0.1:9/hook\" }\n");
        var key = relay.Store.Keys.ConnectorLease("lease-test");
        var first = new StoreLease(relay.Store, key, "replica-a");
        var second = new StoreLease(relay.Store, key, "replica-b");
        var ttl = TimeSpan.FromSeconds(30);

        Assert.True(await first.TryAcquireAsync(ttl));
        Assert.True(await first.TryAcquireAsync(ttl));
        Assert.False(await second.TryAcquireAsync(ttl));
        Assert.False(await second.RenewAsync(ttl));
        await second.ReleaseAsync();
        Assert.Equal("replica-a", await first.HolderAsync());
        Assert.True(await first.RenewAsync(ttl));

        await first.ReleaseAsync();
        Assert.Null(await second.HolderAsync());
        Assert.True(await second.TryAcquireAsync(TimeSpan.FromMilliseconds(300)));
        await Task.Delay(600);
        Assert.False(await second.RenewAsync(ttl));
        Assert.True(await first.TryAcquireAsync(ttl));
    }

    /// <summary>
    /// In virtual time: the holder notices at its next renewal (a third of the lease's time to live on its clock) that
    /// another replica holds the lease, closes the stream, waits as a standby, and takes the lease again once it is free.
    /// </summary>
    [Fact]
    public async Task Lease_TakenByAnotherReplica_StreamClosedAtNextRenewalThenRetakenWhenFree()
    {
        var time = new VirtualTime();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    lease: { ttl: 3s }")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """, configure: time.Use);
        await sovos.WaitForConnectsAsync(1);
        var key = relay.Store.Keys.ConnectorLease("sovos");

        // As if the lease had expired during a pause and another replica had taken it.
        await relay.Store.Database.StringSetAsync(key, "other-replica", TimeSpan.FromMinutes(1));
        var takenAt = time.Now;
        Assert.True(await time.AdvanceUntilAsync(() => sovos.OpenSubscribers == 0, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10)));
        Assert.InRange(time.Now - takenAt, TimeSpan.Zero, TimeSpan.FromSeconds(1.25));
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State;
        Assert.True(await time.AdvanceUntilAsync(() => state.Status is { Role: ConnectorRole.Standby, LeaseHolder: "other-replica" }, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10)));

        var standby = await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, standby.StatusCode);
        Assert.Contains("standby, held by other-replica", await standby.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await relay.Store.Database.KeyDeleteAsync(key);
        Assert.True(await time.AdvanceUntilAsync(() => sovos.Connects >= 2, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10)));
        Assert.Equal(1, sovos.MaxOpenSubscribers);
        sovos.Publish(FakeSovos.Notification("env-after", "COMPLETED"));
        Assert.Contains("env-after", Assert.Single(await crm.WaitForAsync(1)).BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_SourceRemovedThenAdded_ConnectorStopsAndStartsAgain()
    {
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var targets = $"targets:\n  crm: {{ url: \"{crm.Url}hook\" }}\n";
        var withSource = $"sources:\n{sovos.SourceYaml("sovos", "[{ target: crm }]")}\n" + targets;
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, withSource);
        await sovos.WaitForConnectsAsync(1);

        await relay.RewriteConfigAsync(TestStore.Garnet, targets);
        await WaitUntilAsync(() => sovos.OpenSubscribers == 0, TimeSpan.FromSeconds(5));
        await WaitUntilAsync(() => relay.Services.GetRequiredService<ConnectorHost>().Connectors.Count == 0, TimeSpan.FromSeconds(5));
        using var connected = new MetricCollector<int>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.sse.connected");
        connected.RecordObservableInstruments();
        Assert.Empty(connected.GetMeasurementSnapshot());

        // Released on stop, so it is taken again at once rather than after the lease runs out.
        await relay.RewriteConfigAsync(TestStore.Garnet, withSource);
        await sovos.WaitForConnectsAsync(2, TimeSpan.FromSeconds(5));
        Assert.Equal(1, sovos.MaxOpenSubscribers);
    }

    /// <summary>
    /// In virtual time: relay.sse.connected is 0 on a holder from the start, while its first request waits for headers
    /// (no series at all would hide it from "max by (source) (relay_sse_connected) == 0"), 1 once the stream is open, and
    /// 0 again as soon as the stream drops, while the holder tries to reconnect.
    /// </summary>
    [Fact]
    public async Task Gauge_HolderConnectingThenConnectedThenDropped_ZeroOneZero()
    {
        var time = new VirtualTime();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var drop = new TaskCompletionSource();
        sovos.WithholdHeaders = static n => n != 2;
        sovos.OnSubscribe = async s =>
        {
            await drop.Task;
            s.Drop();
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    responseHeadersTimeout: 5s")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """, configure: time.Use);
        using var connected = new MetricCollector<int>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.sse.connected");
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State;
        int? Gauge()
        {
            connected.RecordObservableInstruments();
            return connected.GetMeasurementSnapshot().LastOrDefault(m => Equals(m.Tags["source"], "sovos"))?.Value;
        }

        await WaitUntilAsync(() => state.Status.Role == ConnectorRole.Holder, TimeSpan.FromSeconds(10));
        Assert.Equal(0, Gauge());

        Assert.True(await time.AdvanceUntilAsync(() => state.Status.Connected, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(20)));
        Assert.Equal(1, Gauge());

        drop.SetResult();
        await WaitUntilAsync(() => !state.Status.Connected, TimeSpan.FromSeconds(10));
        Assert.Equal(0, Gauge());
    }

    [Fact]
    public async Task Health_HolderDisconnectedLongerThanGrace_DegradedButStillReady()
    {
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        sovos.RevokeTokens();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
              sovos:
                kind: sovos-sse
                url: "{sovos.StreamUrl}"
                tokenUrl: "{sovos.TokenUrl}"
                clientId: {FakeSovos.ClientId}
                clientSecret: not-the-secret
                unhealthyAfter: 0s
                reconnect: {"{"} initialDelay: 100ms, maxDelay: 200ms {"}"}
                routes: [{"{"} target: crm {"}"}]
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);

        var description = "";
        var status = HttpStatusCode.OK;
        await WaitUntilAsync(
            () =>
            {
                var ready = relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative)).Result;
                status = ready.StatusCode;
                description = JsonDocument.Parse(ready.Content.ReadAsStringAsync().Result).RootElement
                    .GetProperty("checks").GetProperty("connectors").GetProperty("description").GetString()!;
                return description.Contains("invalid_client", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(5));

        // One stream source down must not take the pod (every other source, pass-through) out of service.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("sovos: holds the lease, disconnected (token endpoint answered 401 (invalid_client))", description);
        var report = JsonDocument.Parse(await relay.Client.GetStringAsync(new Uri("/readyz", UriKind.Relative))).RootElement;
        Assert.Equal("Degraded", report.GetProperty("status").GetString());
        Assert.Equal("Degraded", report.GetProperty("checks").GetProperty("connectors").GetProperty("status").GetString());
        Assert.Equal(0, sovos.Connects);
    }

    /// <summary>
    /// The store goes away under the holder: it cannot renew the lease, so it closes the stream before the lease could
    /// pass to another replica; when the store is back it takes the lease again and streams.
    /// </summary>
    [Fact]
    public async Task StoreKilled_HolderClosesStreamWithinLeaseTtl_ThenResumes()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync($"""
            store: {"{"} connection: "{redis.Address}", partitions: 4, prefix: {folder.Prefix} {"}"}
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    lease: { ttl: 3s }")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);
        using var relay = await RelayProcess.StartAsync(config);
        await sovos.WaitForConnectsAsync(1);

        redis.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        await WaitUntilAsync(() => sovos.OpenSubscribers == 0, TimeSpan.FromSeconds(10));
        var closedAfter = DateTimeOffset.UtcNow - killedAt;
        Assert.True(closedAfter < TimeSpan.FromSeconds(3), $"stream closed {closedAfter.TotalSeconds:0.0} s after the store went away; the lease lives 3 s\n{relay.Output}");

        await redis.RestartAsync();
        await sovos.WaitForConnectsAsync(2, TimeSpan.FromSeconds(20));
        sovos.Publish(FakeSovos.Notification("env-after-outage", "COMPLETED"));
        Assert.Contains("env-after-outage", Assert.Single(await crm.WaitForAsync(1)).BodyText, StringComparison.Ordinal);
        Assert.Equal(1, sovos.MaxOpenSubscribers);
    }

    /// <summary>
    /// A frame read while the store is down is kept: the holder cannot store it, loses its lease and closes the stream,
    /// but keeps retrying that event, and stores it once the store is back. Sovos never sends it again.
    /// </summary>
    [Fact]
    public async Task StoreKilled_FrameReadWhileDown_KeptPastLeaseLossAndDeliveredWhenBack()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync($"""
            store: {"{"} connection: "{redis.Address}", partitions: 4, prefix: {folder.Prefix} {"}"}
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]", "    lease: { ttl: 3s }")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);
        using var relay = await RelayProcess.StartAsync(config);
        await sovos.WaitForConnectsAsync(1);

        redis.Kill();
        sovos.Publish(FakeSovos.Notification("env-in-outage", "COMPLETED"));
        await WaitUntilAsync(() => relay.Output.Contains("store unavailable for envelope env-in-outage", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        // The lease is lost with the event in hand: the stream closes, well past the point where it used to be dropped.
        await WaitUntilAsync(() => sovos.OpenSubscribers == 0, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2));

        await redis.RestartAsync();
        var delivered = await crm.WaitForExactlyAsync(1);
        Assert.Contains("env-in-outage", delivered[0].BodyText, StringComparison.Ordinal);
        Assert.Contains("env-in-outage status COMPLETED read but not stored yet: it is kept", relay.Output, StringComparison.Ordinal);
        Assert.Equal(1, sovos.MaxOpenSubscribers);
    }

    /// <summary>
    /// Shutdown with a frame in hand and the store down: the relay keeps trying within the host's shutdown time, and
    /// the event is stored when the store comes back inside it.
    /// </summary>
    [Fact]
    public async Task Shutdown_FrameInHandStoreBackWithinShutdownTime_Stored()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.OnRedis(redis.Address);
        var folder = new TestFolder();
        var targets = $"targets:\n  crm: {{ url: \"{crm.Url}hook\" }}\n";

        // A long lease: this is about the shutdown, not about losing the lease.
        var relay = await RelayHost.StartAsync(
            store,
            $"sources:\n{sovos.SourceYaml("sovos", "[{ target: crm }]", "    lease: { ttl: 60s }")}\n" + targets,
            folder,
            b => b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20)));
        await sovos.WaitForConnectsAsync(1);
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State;

        redis.Kill();
        sovos.Publish(FakeSovos.Notification("env-at-stop", "COMPLETED"));
        await WaitUntilAsync(() => state.Status.LastError?.StartsWith("store unavailable", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10));
        var stopping = relay.DisposeAsync().AsTask();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.False(stopping.IsCompleted, "the relay stopped without storing the event in hand");
        await redis.RestartAsync();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        // Whether this relay delivered it before its dispatchers stopped or not, it is in the store.
        await using var after = await RelayHost.StartAsync(store, targets, folder);
        Assert.Contains("env-at-stop", Assert.Single(await crm.WaitForAsync(1)).BodyText, StringComparison.Ordinal);
    }

    /// <summary>A reload that changes the source stops its connector with a frame in hand: the frame is still stored.</summary>
    [Fact]
    public async Task Reload_SourceChangedWithFrameInHand_FrameStoredWhenStoreBack()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.OnRedis(redis.Address);
        string Yaml(string idleTimeout) =>
            $"sources:\n{sovos.SourceYaml("sovos", "[{ target: crm }]", $"    lease: {{ ttl: 60s }}\n    idleTimeout: {idleTimeout}")}\ntargets:\n  crm: {{ url: \"{crm.Url}hook\" }}\n";
        await using var relay = await RelayHost.StartAsync(store, Yaml("5m"));
        await sovos.WaitForConnectsAsync(1);
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State;

        redis.Kill();
        sovos.Publish(FakeSovos.Notification("env-at-reload", "COMPLETED"));
        await WaitUntilAsync(() => state.Status.LastError?.StartsWith("store unavailable", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10));
        await relay.RewriteConfigAsync(store, Yaml("4m"));
        await WaitUntilAsync(() => sovos.OpenSubscribers == 0, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1));

        await redis.RestartAsync();
        Assert.Contains("env-at-reload", Assert.Single(await crm.WaitForExactlyAsync(1)).BodyText, StringComparison.Ordinal);
        await sovos.WaitForConnectsAsync(2);
        Assert.Equal(1, sovos.MaxOpenSubscribers);
    }

    /// <summary>Shutdown with a frame in hand and the store down until the host's shutdown time runs out: logged as lost.</summary>
    [Fact]
    public async Task Shutdown_FrameInHandStoreDownThroughShutdownTime_LoggedAsLost()
    {
        using var redis = await RedisServerProcess.StartAsync();
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var logs = new CapturedLogs();
        var relay = await RelayHost.StartAsync(
            TestStore.OnRedis(redis.Address),
            $"sources:\n{sovos.SourceYaml("sovos", "[{ target: crm }]", "    lease: { ttl: 60s }")}\ntargets:\n  crm: {{ url: \"{crm.Url}hook\" }}\n",
            configure: b =>
            {
                logs.AttachTo(b);
                b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            });
        await sovos.WaitForConnectsAsync(1);
        var state = Assert.Single(relay.Services.GetRequiredService<ConnectorHost>().Connectors).State;

        redis.Kill();
        sovos.Publish(FakeSovos.Notification("env-lost", "COMPLETED"));
        await WaitUntilAsync(() => state.Status.LastError?.StartsWith("store unavailable", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10));
        await relay.DisposeAsync();

        var lost = Assert.Single(logs.Lines, l => l.Contains("LOST", StringComparison.Ordinal));
        Assert.StartsWith("Error Relay.Connectors.ConnectorRuntime[5014] Source sovos: envelope env-lost status COMPLETED LOST", lost, StringComparison.Ordinal);
    }

    /// <summary>
    /// Two relay processes on one Redis: exactly one streams; after kill -9 of that one, the other takes the lease when
    /// it runs out (ttl 10 s) and connects, and events sent afterwards are delivered.
    /// </summary>
    [Fact]
    public async Task TwoReplicas_HolderKilled_SurvivorTakesOverAndDelivers()
    {
        var store = TestStore.Named("redis");
        await using var sovos = await FakeSovos.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = await folder.WriteConfigAsync(folder.StoreYaml(store) + $"""
            sources:
            {sovos.SourceYaml("sovos", "[{ target: crm }]")}
            targets:
              crm: {"{"} url: "{crm.Url}hook" {"}"}
            """);

        using var first = await RelayProcess.StartAsync(config);
        using var second = await RelayProcess.StartAsync(config);
        await sovos.WaitForConnectsAsync(1);
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(1, sovos.Connects);
        Assert.Equal(1, sovos.OpenSubscribers);

        sovos.Publish(FakeSovos.Notification("env-before", "COMPLETED"));
        await crm.WaitForAsync(1);

        var holder = await ConnectorsCheckAsync(first) == "sovos: connected" ? first : second;
        var survivor = ReferenceEquals(holder, first) ? second : first;
        Assert.StartsWith("sovos: standby, held by ", await ConnectorsCheckAsync(survivor), StringComparison.Ordinal);

        var killedAt = DateTimeOffset.UtcNow;
        holder.KillHard();
        await sovos.WaitForConnectsAsync(2, TimeSpan.FromSeconds(25));
        var takeover = DateTimeOffset.UtcNow - killedAt;
        TestContext.Current.TestOutputHelper?.WriteLine($"takeover after kill -9: {takeover.TotalSeconds:0.0} s");
        Assert.True(takeover <= TimeSpan.FromSeconds(20), $"took {takeover.TotalSeconds:0.0} s\n{survivor.Output}");
        Assert.Equal(1, sovos.MaxOpenSubscribers);

        sovos.Publish(FakeSovos.Notification("env-after", "COMPLETED"));
        var delivered = await crm.WaitForAsync(2);
        Assert.Contains(delivered, r => r.BodyText.Contains("env-after", StringComparison.Ordinal));
        Assert.Equal("sovos: connected", await ConnectorsCheckAsync(survivor));
    }

    private static async Task<string> ConnectorsCheckAsync(RelayProcess relay)
    {
        using var client = new HttpClient { BaseAddress = relay.Url };
        var report = JsonDocument.Parse(await client.GetStringAsync(new Uri("/readyz", UriKind.Relative))).RootElement;
        return report.GetProperty("checks").GetProperty("connectors").GetProperty("description").GetString()!;
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
}
