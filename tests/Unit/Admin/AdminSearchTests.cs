using System.Net;
using System.Text.Json;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin;

/// <summary>
/// Event search on <c>GET /admin/events</c> (source, type glob, per-target state, time range, id), replay by time range,
/// and redriving chosen dead letters, through the real relay on both stores.
/// </summary>
public sealed class AdminSearchTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Search_EachFilter_FindsExactlyTheMatchingEvents(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = (ctx, _) =>
        {
            // Signature requests are rejected (dead at once); signer events are delivered.
            ctx.Response.StatusCode = ctx.Request.Headers["X-Relay-Event-Type"].ToString().StartsWith("signature_request", StringComparison.Ordinal) ? 400 : 200;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        var before = DateTimeOffset.UtcNow;
        await SendAsync(relay, "vendor-a", "signature_request.done");
        await SendAsync(relay, "vendor-b", "signer.done");
        await Task.Delay(50);
        var between = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        await SendAsync(relay, "vendor-c", "signature_request.expired", path: "/hooks/other");
        await AdminApi.WaitForAsync(admin, "/admin/events?state=delivered&target=crm", l => Count(l) == 1);
        await AdminApi.WaitForAsync(admin, "/admin/events?state=dead&target=crm", l => Count(l) == 2);
        var all = Ids(await AdminApi.GetAsync(admin, "/admin/events"));
        Assert.Equal(3, all.Count);

        Assert.Equal(2, Count(await AdminApi.GetAsync(admin, "/admin/events?source=yousign")));
        Assert.Equal(1, Count(await AdminApi.GetAsync(admin, "/admin/events?source=other")));
        Assert.Equal(2, Count(await AdminApi.GetAsync(admin, "/admin/events?type=signature_request.*")));
        Assert.Equal(1, Count(await AdminApi.GetAsync(admin, "/admin/events?type=*.expired")));
        Assert.Equal(1, Count(await AdminApi.GetAsync(admin, "/admin/events?type=signature_request.*&source=yousign")));
        Assert.Equal(0, Count(await AdminApi.GetAsync(admin, "/admin/events?type=nothing.*")));

        var dead = await AdminApi.GetAsync(admin, "/admin/events?state=dead&target=crm");
        Assert.All(dead.GetProperty("events").EnumerateArray(), e => Assert.Equal("dead", AdminApi.State(e, "crm")));
        Assert.Equal(2, Count(await AdminApi.GetAsync(admin, "/admin/events?state=dead")));
        Assert.Equal(0, Count(await AdminApi.GetAsync(admin, "/admin/events?state=retrying&target=crm")));

        Assert.Equal(2, Count(await AdminApi.GetAsync(admin, $"/admin/events?from={Iso(before)}&to={Iso(between)}")));
        Assert.Equal(1, Count(await AdminApi.GetAsync(admin, $"/admin/events?from={Iso(between)}")));
        Assert.Equal(1, Count(await AdminApi.GetAsync(admin, $"/admin/events?state=dead&target=crm&from={Iso(between)}")));

        // By Relay's id (the webhook-id targets get), and by the vendor's own id (the dedupe key).
        Assert.Equal([all[0]], Ids(await AdminApi.GetAsync(admin, $"/admin/events?id={all[0]}")));
        var byVendorId = Assert.Single(Ids(await AdminApi.GetAsync(admin, "/admin/events?id=vendor-b")));
        Assert.Equal("signer.done", (await AdminApi.GetAsync(admin, $"/admin/events/{byVendorId}")).GetProperty("type").GetString());
        Assert.Equal(0, Count(await AdminApi.GetAsync(admin, "/admin/events?id=no-such-id")));
        Assert.Equal(0, Count(await AdminApi.GetAsync(admin, "/admin/events?id=vendor-b&source=other")));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Search_DeadLettersPagedAndPurged_StateIndexFollowsTheQueue(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        crm.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 422;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        for (var i = 0; i < 5; i++)
        {
            await AdminApi.SendAsync(relay, $"page-{i}", requestId: $"sr-{i}");
        }

        await AdminApi.WaitForAsync(admin, "/admin/events?state=dead&target=crm", l => Count(l) == 5);
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await AdminApi.GetAsync(admin, "/admin/events?state=dead&target=crm&limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(Ids(page));
            cursor = page.TryGetProperty("next", out var next) ? next.GetString() : null;
        }
        while (cursor is not null);
        Assert.Equal(5, seen.Distinct().Count());
        Assert.Equal(seen.OrderDescending(StringComparer.Ordinal), seen);

        await admin.DeleteAsync(new Uri("/admin/targets/crm/dead-letters", UriKind.Relative));
        Assert.Equal(0, Count(await AdminApi.GetAsync(admin, "/admin/events?state=dead&target=crm")));
        var purged = await AdminApi.GetAsync(admin, "/admin/events?state=purged&target=crm");
        Assert.Equal(5, Count(purged));
        Assert.All(purged.GetProperty("events").EnumerateArray(), e => Assert.Equal("purged", AdminApi.State(e, "crm")));
    }

    [Theory]
    [InlineData("state=sleeping", "state 'sleeping' is not one of")]
    [InlineData("state=dead&target=nowhere", "target 'nowhere' is not in the configuration")]
    [InlineData("from=yesterday", "from 'yesterday' is not an ISO-8601")]
    [InlineData("from=2026-12-01T10:00:00Z&to=2026-12-01T09:00:00Z", "from must be before to")]
    public async Task Search_BadFilter_400SaysWhatToSend(string query, string expected)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);

        var detail = await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin/events?" + query, UriKind.Relative)), HttpStatusCode.BadRequest);

        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task ReplayRange_DryRunCountsThenReplaysOnlyTheRange_RepeatQueuesNothingTwice(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "early", requestId: "sr-early");
        await crm.WaitForAsync(1);
        await Task.Delay(50);
        var from = DateTimeOffset.UtcNow;
        await AdminApi.SendAsync(relay, "in-1", requestId: "sr-1");
        await AdminApi.SendAsync(relay, "in-2", requestId: "sr-2");
        await crm.WaitForAsync(3);
        var to = DateTimeOffset.UtcNow.AddMilliseconds(1);
        await AdminApi.PostAsync(admin, "/admin/targets/crm/pause");

        var range = $$"""{"from": "{{from.UtcDateTime:O}}", "to": "{{to.UtcDateTime:O}}", "dryRun": true}""";
        var dry = await AdminApi.PostAsync(admin, "/admin/targets/crm/replay", json: range);
        Assert.Equal((2, true), (dry.GetProperty("count").GetInt64(), dry.GetProperty("dryRun").GetBoolean()));
        Assert.False(dry.TryGetProperty("queued", out _));
        var paused = await AdminApi.GetAsync(admin, "/admin/targets");
        Assert.Equal(0, paused.GetProperty("targets")[0].GetProperty("ready").GetInt64());

        var replay = await AdminApi.PostAsync(admin, "/admin/targets/crm/replay", json: range.Replace("true", "false", StringComparison.Ordinal));
        Assert.Equal((2, 2), (replay.GetProperty("count").GetInt64(), replay.GetProperty("queued").GetInt64()));
        var again = await AdminApi.PostAsync(admin, "/admin/targets/crm/replay", json: range.Replace("true", "false", StringComparison.Ordinal));
        Assert.Equal((2, 0), (again.GetProperty("count").GetInt64(), again.GetProperty("queued").GetInt64()));
        Assert.Equal(2, (await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets")[0].GetProperty("ready").GetInt64());

        await AdminApi.PostAsync(admin, "/admin/targets/crm/resume");
        var received = await crm.WaitForAsync(5);
        Assert.Equal(["sr-1", "sr-2"], received.Skip(3).Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("data").GetProperty("signature_request").GetProperty("id").GetString()).Order());
        await crm.WaitForExactlyAsync(5, TimeSpan.FromMilliseconds(500));
    }

    [Theory]
    [InlineData("""{"from": "2026-12-01T00:00:00Z", "to": "2026-12-09T00:00:00Z"}""", "wider than store.retention")]
    [InlineData("""{"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}""", "from must be before to")]
    [InlineData("""{"from": "2026-12-01T00:00:00Z"}""", "Send the range as")]
    [InlineData("""{"from": "soon", "to": "2026-12-01T00:00:00Z"}""", "from 'soon' is not an ISO-8601")]
    [InlineData("not json", "The body must be JSON")]
    public async Task ReplayRange_BadRange_400AndNothingQueued(string body, string expected)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);

        var response = await admin.PostAsync(new Uri("/admin/targets/crm/replay", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Contains(expected, await AdminApi.ProblemAsync(response, HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Redrive_ChosenIds_OnlyThoseRequeued(string storeName)
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
        await AdminApi.SendAsync(relay, "pick-1", requestId: "sr-1");
        await AdminApi.SendAsync(relay, "pick-2", requestId: "sr-2");
        var dead = Ids(await AdminApi.WaitForAsync(admin, "/admin/events?state=dead&target=crm", l => Count(l) == 2));
        Volatile.Write(ref fixedTarget, true);

        var redriven = await AdminApi.PostAsync(admin, "/admin/targets/crm/dead-letters/redrive", json: $$"""{"ids": ["{{dead[0]}}", "evt_not_a_dead_letter"]}""");

        Assert.Equal(1, redriven.GetProperty("redriven").GetInt64());
        await AdminApi.WaitForAsync(admin, $"/admin/events/{dead[0]}", e => AdminApi.State(e, "crm") == "delivered");
        Assert.Equal([dead[1]], Ids(await AdminApi.GetAsync(admin, "/admin/events?state=dead&target=crm")));
        await crm.WaitForExactlyAsync(3, TimeSpan.FromMilliseconds(500));
    }

    private static Task SendAsync(RelayHost relay, string eventId, string type, string path = "/hooks/yousign") =>
        relay.Client.SendAsync(Signing.YousignRequest(path, AdminApi.Secret, Signing.YousignEvent(eventId, type, requestId: eventId)))
            .ContinueWith(t => Assert.Equal(HttpStatusCode.OK, t.Result.StatusCode), TaskScheduler.Default);

    private static int Count(JsonElement list) => list.GetProperty("events").GetArrayLength();

    private static List<string> Ids(JsonElement list) => [.. list.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()!)];

    private static string Iso(DateTimeOffset at) => Uri.EscapeDataString(at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
}
