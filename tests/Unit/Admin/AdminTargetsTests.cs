using System.Net;
using System.Text.Json;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin;

/// <summary>Targets through the admin API: queue depths, dead letters (inspect, redrive, purge), pause, test events.</summary>
public sealed class AdminTargetsTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Workflow_TargetRejects_DeadThenInspectFixRedrive_Delivered(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        var fixedTarget = false;
        crm.Respond = (ctx, _) =>
        {
            ctx.Response.StatusCode = Volatile.Read(ref fixedTarget) ? 200 : 400;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "wf-1");
        await AdminApi.SendAsync(relay, "wf-2");

        // Inspect: both dead with the reason, counted per target.
        var dead = await AdminApi.WaitForAsync(admin, "/admin/targets/crm/dead-letters", d => d.GetProperty("deadLetters").GetArrayLength() == 2);
        Assert.All(dead.GetProperty("deadLetters").EnumerateArray(), d =>
        {
            Assert.Equal("rejected: HTTP 400", d.GetProperty("reason").GetString());
            Assert.Equal(1, d.GetProperty("attempts").GetInt32());
            Assert.Equal("yousign", d.GetProperty("source").GetString());
        });
        var crmCounts = Assert.Single((await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets").EnumerateArray());
        Assert.Equal(2, crmCounts.GetProperty("dead").GetInt64());
        Assert.Equal("closed", crmCounts.GetProperty("circuit").GetString());
        var firstPage = await AdminApi.GetAsync(admin, "/admin/targets/crm/dead-letters?limit=1");
        var secondPage = await AdminApi.GetAsync(admin, "/admin/targets/crm/dead-letters?limit=1&cursor=" + firstPage.GetProperty("next").GetString());
        Assert.NotEqual(Ids(firstPage).Single(), Ids(secondPage).Single());

        // Fix, redrive: delivered, attempts start again, nothing left dead.
        Volatile.Write(ref fixedTarget, true);
        var redrive = await AdminApi.PostAsync(admin, "/admin/targets/crm/dead-letters/redrive");
        Assert.Equal(2, redrive.GetProperty("redriven").GetInt64());
        var received = await crm.WaitForAsync(4);
        Assert.Equal(["1", "1"], received.Skip(2).Select(r => r.Header("X-Relay-Attempt")));
        foreach (var id in Ids(dead))
        {
            var e = await AdminApi.WaitForAsync(admin, $"/admin/events/{id}", e => AdminApi.State(e, "crm") == "delivered");
            Assert.Equal(1, e.GetProperty("targets").GetProperty("crm").GetProperty("attempts").GetInt32());
            Assert.Equal([400, 200], e.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("status").GetInt32()));
        }

        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/targets/crm/dead-letters")).GetProperty("deadLetters").EnumerateArray());
        Assert.Equal(0, (await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets")[0].GetProperty("dead").GetInt64());
        Assert.Equal(0, (await AdminApi.PostAsync(admin, "/admin/targets/crm/dead-letters/redrive")).GetProperty("redriven").GetInt64());
        await Task.Delay(500);
        Assert.Equal(4, crm.Received.Count);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Purge_DeadLetters_CountedGoneAndNeverDelivered(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 410;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "purge-1");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        await AdminApi.WaitForAsync(admin, "/admin/targets/crm/dead-letters", d => d.GetProperty("deadLetters").GetArrayLength() == 1);

        var purged = await AdminApi.JsonAsync(await admin.DeleteAsync(new Uri("/admin/targets/crm/dead-letters", UriKind.Relative)), HttpStatusCode.OK);

        Assert.Equal(1, purged.GetProperty("purged").GetInt64());
        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/targets/crm/dead-letters")).GetProperty("deadLetters").EnumerateArray());
        Assert.Equal("purged", AdminApi.State(await AdminApi.GetAsync(admin, $"/admin/events/{id}"), "crm"));
        Assert.Equal(0, (await AdminApi.PostAsync(admin, "/admin/targets/crm/dead-letters/redrive")).GetProperty("redriven").GetInt64());
        await Task.Delay(500);
        Assert.Single(crm.Received);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Pause_EventsQueueNothingDeliveredSurvivesRestart_ResumeDelivers(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.Named(storeName);
        var relay = await RelayHost.StartAsync(store, AdminApi.Yaml(crm));
        var folder = relay.Folder;
        string id;
        try
        {
            using var admin = AdminApi.Client(relay);
            Assert.True((await AdminApi.PostAsync(admin, "/admin/targets/crm/pause")).GetProperty("paused").GetBoolean());

            // No wait: this replica's dispatcher reads the flag again as soon as it changes.
            await AdminApi.SendAsync(relay, "paused-1");
            id = await AdminApi.OnlyEventIdAsync(admin);
            await Task.Delay(1500);

            Assert.Empty(crm.Received);
            var target = (await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets")[0];
            Assert.True(target.GetProperty("paused").GetBoolean());
            Assert.Equal(1, target.GetProperty("ready").GetInt64());
            Assert.Equal("paused", AdminApi.State(await AdminApi.GetAsync(admin, $"/admin/events/{id}"), "crm"));
        }
        finally
        {
            await relay.DisposeAsync();
        }

        await using var restarted = await RelayHost.StartAsync(store, AdminApi.Yaml(crm), folder);
        using var again = AdminApi.Client(restarted);
        await Task.Delay(1500);
        Assert.Empty(crm.Received);
        Assert.True((await AdminApi.GetAsync(again, "/admin/targets")).GetProperty("targets")[0].GetProperty("paused").GetBoolean());

        Assert.False((await AdminApi.PostAsync(again, "/admin/targets/crm/resume")).GetProperty("paused").GetBoolean());

        var delivered = Assert.Single(await crm.WaitForAsync(1, TimeSpan.FromSeconds(5)));
        Assert.Equal(id, delivered.Header("webhook-id"));
        await AdminApi.WaitForAsync(again, $"/admin/events/{id}", e => AdminApi.State(e, "crm") == "delivered");
        Assert.False((await AdminApi.GetAsync(again, "/admin/targets")).GetProperty("targets")[0].GetProperty("paused").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Test_SyntheticEvent_DeliveredToThatTargetOnly(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm, archive));
        using var admin = AdminApi.Client(relay);

        var response = await admin.PostAsync(new Uri("/admin/targets/archive/test", UriKind.Relative), null);
        var created = await AdminApi.JsonAsync(response, HttpStatusCode.Accepted);

        var id = created.GetProperty("id").GetString()!;
        Assert.Equal($"/admin/events/{id}", response.Headers.Location?.ToString());
        var received = Assert.Single(await archive.WaitForAsync(1));
        Assert.Equal(id, received.Header("webhook-id"));
        Assert.Equal("relay.test", received.Header("X-Relay-Event-Type"));
        Assert.Equal("relay-admin", received.Header("X-Relay-Source"));
        Assert.StartsWith("application/json", received.Header("Content-Type"), StringComparison.Ordinal);
        var body = JsonDocument.Parse(received.Body).RootElement;
        Assert.Equal("relay.test", body.GetProperty("type").GetString());
        Assert.Equal("archive", body.GetProperty("target").GetString());
        var e = await AdminApi.WaitForAsync(admin, $"/admin/events/{id}", e => AdminApi.State(e, "archive") == "delivered");
        Assert.Equal(["archive"], e.GetProperty("targets").EnumerateObject().Select(p => p.Name));
        Assert.Single((await AdminApi.GetAsync(admin, "/admin/events?source=relay-admin")).GetProperty("events").EnumerateArray());
        await Task.Delay(500);
        Assert.Empty(crm.Received);
    }

    [Fact]
    public async Task UnknownTarget_EveryTargetEndpoint_404Problem()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);

        var calls = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Get, "/admin/targets/nope/dead-letters"),
            (HttpMethod.Post, "/admin/targets/nope/dead-letters/redrive"),
            (HttpMethod.Delete, "/admin/targets/nope/dead-letters"),
            (HttpMethod.Post, "/admin/targets/nope/pause"),
            (HttpMethod.Post, "/admin/targets/nope/resume"),
            (HttpMethod.Post, "/admin/targets/nope/test"),
        };
        foreach (var (method, path) in calls)
        {
            var detail = await AdminApi.ProblemAsync(await admin.SendAsync(new HttpRequestMessage(method, path)), HttpStatusCode.NotFound);
            Assert.Contains("'nope'", detail, StringComparison.Ordinal);
        }

        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/events")).GetProperty("events").EnumerateArray());
    }

    private static string[] Ids(JsonElement page) => [.. page.GetProperty("deadLetters").EnumerateArray().Select(d => d.GetProperty("id").GetString()!)];
}
