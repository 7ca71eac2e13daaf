using System.Net;
using System.Text.Json;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;

namespace Relay.Tests.Admin;

/// <summary>
/// Failure mode: a target removed or renamed in the configuration strands its queues: events it still owes would wait
/// unseen for ever. The admin API and /readyz list them; an operator moves them to a configured target or purges them.
/// </summary>
public sealed class AdminOrphansTests
{
    /// <summary>The event type archive rejects for good (410), so one event becomes a dead letter.</summary>
    private const string Expired = "signature_request.expired";

    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Target_Renamed_OrphanListedOnReadyz_MovedEventsDeliveredAndDeadLettersKept(string storeName)
    {
        var store = TestStore.Named(storeName);
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var renamed = await FakeTarget.StartAsync();
        await using var relay = await StrandArchiveAsync(store, crm, archive, $"  archive2: {TestYaml.Target(renamed)}\n");
        using var admin = AdminApi.Client(relay);

        var orphans = await AdminApi.WaitForAsync(admin, "/admin/orphans", l => l.GetProperty("orphans").GetArrayLength() == 1);
        var orphan = orphans.GetProperty("orphans")[0];
        Assert.Equal("archive", orphan.GetProperty("target").GetString());
        Assert.Equal(2, orphan.GetProperty("retrying").GetInt64());
        Assert.Equal(1, orphan.GetProperty("dead").GetInt64());
        var ready = await relay.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Degraded", report.GetProperty("checks").GetProperty("orphans").GetProperty("status").GetString());
        Assert.Contains("archive (3)", report.GetProperty("checks").GetProperty("orphans").GetProperty("description").GetString(), StringComparison.Ordinal);

        // Bad moves: a configured target is no orphan; events only move to a configured target; the body must name one.
        await AdminApi.ProblemAsync(await admin.DeleteAsync(new Uri("/admin/orphans/crm", UriKind.Relative)), HttpStatusCode.Conflict);
        await AdminApi.ProblemAsync(await admin.DeleteAsync(new Uri("/admin/orphans/never-existed", UriKind.Relative)), HttpStatusCode.NotFound);
        await AdminApi.ProblemAsync(await Move(admin, "archive", """{"to": "nope"}"""), HttpStatusCode.BadRequest);
        await AdminApi.ProblemAsync(await Move(admin, "archive", """{"to": """), HttpStatusCode.BadRequest);
        await AdminApi.ProblemAsync(await Move(admin, "archive", ""), HttpStatusCode.BadRequest);

        var moved = await AdminApi.JsonAsync(await Move(admin, "archive", """{"to": "archive2"}"""), HttpStatusCode.OK);
        Assert.Equal(3, moved.GetProperty("moved").GetInt64());
        var received = await renamed.WaitForAsync(2);
        Assert.Equal(["retry-1", "retry-2"], received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("event_id").GetString()).Order());
        var dead = await AdminApi.GetAsync(admin, "/admin/targets/archive2/dead-letters");
        Assert.Equal("moved from archive", Assert.Single(dead.GetProperty("deadLetters").EnumerateArray()).GetProperty("reason").GetString());
        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/orphans")).GetProperty("orphans").EnumerateArray());

        var moveAgain = await Move(admin, "archive", """{"to": "archive2"}""");
        await AdminApi.ProblemAsync(moveAgain, HttpStatusCode.NotFound);
        await renamed.WaitForExactlyAsync(2, TimeSpan.FromMilliseconds(500));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Target_Removed_OrphanPurged_EventsNoLongerOwedExpireAfterRetention(string storeName)
    {
        var store = TestStore.Named(storeName);
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await StrandArchiveAsync(store, crm, archive, "");
        using var admin = AdminApi.Client(relay);
        await AdminApi.WaitForAsync(admin, "/admin/orphans", l => l.GetProperty("orphans").GetArrayLength() == 1);
        var ids = (await AdminApi.GetAsync(admin, "/admin/events")).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(3, ids.Length);
        Assert.All(ids, id => Assert.Equal(-1, TimeToLiveAsync(relay, id).GetAwaiter().GetResult()));

        var purged = await AdminApi.JsonAsync(await admin.DeleteAsync(new Uri("/admin/orphans/archive", UriKind.Relative)), HttpStatusCode.OK);

        Assert.Equal(3, purged.GetProperty("purged").GetInt64());
        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/orphans")).GetProperty("orphans").EnumerateArray());
        foreach (var id in ids)
        {
            Assert.True(await TimeToLiveAsync(relay, id) > 0, $"event {id} still never expires");
            Assert.Equal("purged", (await EventStateAsync(relay, id))["archive.state"]);
        }
    }

    /// <summary>
    /// A relay where archive holds two retrying events and one dead letter (crm delivered all three), then a config
    /// reload drops archive (adding <paramref name="otherTargets"/>). The console's browser tests start from it too.
    /// </summary>
    internal static async Task<RelayHost> StrandArchiveAsync(TestStore store, FakeTarget crm, FakeTarget archive, string otherTargets)
    {
        archive.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = ctx.Request.Headers["X-Relay-Event-Type"] == Expired ? 410 : 503;
            return Task.CompletedTask;
        };
        var relay = await RelayHost.StartAsync(store, AdminApi.Yaml(crm, archive).Replace("[1s, 2s]", "[1h]", StringComparison.Ordinal));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "retry-1", requestId: "sr-1");
        await AdminApi.SendAsync(relay, "retry-2", requestId: "sr-2");
        var gone = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, Signing.YousignEvent("gone-1", Expired, "sr-3")));
        Assert.Equal(HttpStatusCode.OK, gone.StatusCode);

        await AdminApi.WaitForAsync(admin, "/admin/targets", l => l.GetProperty("targets").EnumerateArray().Any(t =>
            t.GetProperty("id").GetString() == "archive" && t.GetProperty("retrying").GetInt64() == 2 && t.GetProperty("dead").GetInt64() == 1));
        await crm.WaitForAsync(3);

        await relay.RewriteConfigAsync(store, AdminApi.Yaml(crm) + otherTargets);
        return relay;
    }

    private static Task<HttpResponseMessage> Move(HttpClient admin, string orphan, string json) =>
        admin.PostAsync(new Uri($"/admin/orphans/{orphan}/move", UriKind.Relative), new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
}
