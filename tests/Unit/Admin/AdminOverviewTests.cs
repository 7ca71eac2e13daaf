using System.Net;
using System.Text.Json;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin;

/// <summary>
/// The console's overview and sources data: per-minute ingest outcomes, delivery success and p95, queue lag, circuits;
/// kept in the store, so one replica shows what another counted. And the gauges alerts are built on.
/// </summary>
public sealed class AdminOverviewTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Overview_OutcomesDeliveriesAndLag_CountedPerSourceAndTarget(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "ov-1");
        await AdminApi.SendAsync(relay, "ov-2");
        await AdminApi.SendAsync(relay, "ov-2");
        var body = Signing.YousignEvent("ov-3");
        Assert.Equal(HttpStatusCode.Unauthorized, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, body, Signing.YousignSignature("wrong", body)))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, "[1]"))).StatusCode);
        await crm.WaitForAsync(2);

        var overview = await AdminApi.WaitForAsync(admin, "/admin/overview", o => Target(o, "crm").GetProperty("attempts").GetInt64() == 2 && Totals(o, "yousign").GetProperty("bad_request").GetInt64() == 1);

        Assert.Equal(15, overview.GetProperty("windowMinutes").GetInt32());
        var yousign = Source(overview, "yousign");
        Assert.Equal("yousign", yousign.GetProperty("kind").GetString());
        var totals = Totals(overview, "yousign");
        Assert.Equal((2, 1, 1, 1, 0, 0), (Long(totals, "accepted"), Long(totals, "duplicate"), Long(totals, "unauthorized"), Long(totals, "bad_request"), Long(totals, "unavailable"), Long(totals, "unrouted")));
        var minutes = yousign.GetProperty("minutes").EnumerateArray().ToArray();
        Assert.Equal(15, minutes.Length);
        Assert.Equal(2, minutes.Sum(m => Long(m, "accepted")));
        Assert.True(minutes[^1].GetProperty("at").GetDateTimeOffset() > minutes[0].GetProperty("at").GetDateTimeOffset());
        Assert.Equal(0, Long(Totals(overview, "other"), "accepted"));

        var target = Target(overview, "crm");
        Assert.Equal(1.0, target.GetProperty("successRate").GetDouble());
        Assert.True(target.GetProperty("p95Ms").GetDouble() > 0);
        Assert.Equal("closed", target.GetProperty("circuit").GetString());
        Assert.False(target.GetProperty("paused").GetBoolean());
        Assert.Equal(0, target.GetProperty("lagSeconds").GetDouble());
        Assert.Empty(overview.GetProperty("connectors").EnumerateArray());

        // A paused target's queue ages: the lag is how long its oldest ready event has waited.
        await AdminApi.PostAsync(admin, "/admin/targets/crm/pause");
        await AdminApi.SendAsync(relay, "ov-4");
        await Task.Delay(1200);
        var lagging = Target(await AdminApi.GetAsync(admin, "/admin/overview"), "crm");
        Assert.Equal(1, lagging.GetProperty("ready").GetInt64());
        Assert.True(lagging.GetProperty("lagSeconds").GetDouble() >= 1, lagging.ToString());
        Assert.True(lagging.GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task Overview_TwoReplicasOnOneStore_EachShowsWhatTheOtherCounted()
    {
        var store = TestStore.Named("redis");
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        await using var first = await RelayHost.StartAsync(store, AdminApi.Yaml(crm), folder);
        await using var second = await RelayHost.StartAsync(store, AdminApi.Yaml(crm), folder);
        using var secondAdmin = AdminApi.Client(second);

        await AdminApi.SendAsync(first, "replica-1");
        await AdminApi.SendAsync(first, "replica-2");

        var overview = await AdminApi.WaitForAsync(secondAdmin, "/admin/overview", o => Long(Totals(o, "yousign"), "accepted") == 2);
        Assert.Equal(2, Target(overview, "crm").GetProperty("attempts").GetInt64());
        var sources = await AdminApi.GetAsync(secondAdmin, "/admin/sources");
        Assert.Equal(2, Long(sources.GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "yousign").GetProperty("lastHour"), "accepted"));
    }

    [Fact]
    public async Task Sources_EachConfiguredSource_KindPathRoutesAndCounts()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "src-1", path: "/hooks/other");

        var sources = await AdminApi.WaitForAsync(admin, "/admin/sources", s => Long(SourceIn(s, "other").GetProperty("lastHour"), "accepted") == 1);

        var other = SourceIn(sources, "other");
        Assert.Equal(("yousign", "/hooks/other", "7d"), (other.GetProperty("kind").GetString(), other.GetProperty("path").GetString(), other.GetProperty("dedupeWindow").GetString()));
        Assert.Equal("crm", Assert.Single(other.GetProperty("routes").EnumerateArray()).GetProperty("target").GetString());
        Assert.Equal(["other", "yousign"], sources.GetProperty("sources").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("minutes=0")]
    [InlineData("minutes=61")]
    [InlineData("minutes=ten")]
    public async Task Overview_BadWindow_400(string query)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);

        var detail = await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin/overview?" + query, UriKind.Relative)), HttpStatusCode.BadRequest);

        Assert.Contains("minutes must be a whole number from 1 to 60", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_LagCircuitAndZeroedCounters_ExposedForAlerts()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));

        // The sampler runs at start and every 5 s; the circuit gauge reads the dispatchers whenever it is scraped.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        string scrape;
        do
        {
            await Task.Delay(200);
            scrape = await relay.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        }
        while (!scrape.Contains("relay_queue_lag_seconds{", StringComparison.Ordinal) && DateTimeOffset.UtcNow < deadline);

        Assert.Contains("relay_queue_lag_seconds{", scrape, StringComparison.Ordinal);
        Assert.Contains("relay_dispatch_circuit_open{", scrape, StringComparison.Ordinal);
        Assert.Matches("""relay_dispatch_circuit_open\{[^}]*target="crm"[^}]*\} 0""", scrape);
        Assert.Matches("""relay_dispatch_dead_lettered_total\{[^}]*target="crm"[^}]*\} 0""", scrape);
        Assert.Matches("""relay_ingress_requests_total\{[^}]*outcome="unavailable"[^}]*source="yousign"[^}]*\} 0""", scrape);
    }

    private static JsonElement Source(JsonElement overview, string id) =>
        overview.GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    private static JsonElement SourceIn(JsonElement sources, string id) =>
        sources.GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    private static JsonElement Totals(JsonElement overview, string source) => Source(overview, source).GetProperty("totals");

    private static JsonElement Target(JsonElement overview, string id) =>
        overview.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("id").GetString() == id);

    private static long Long(JsonElement e, string name) => e.GetProperty(name).GetInt64();
}
