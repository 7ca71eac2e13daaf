using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin;

/// <summary>Events through the admin API: listing and paging, one event in full (redacted), replay.</summary>
public sealed class AdminEventsTests
{
    public static TheoryData<string> Stores => TestStore.All;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task ListEvents_PagedWithCursor_NewestFirstEveryEventOnceAndSourceFilter(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        for (var i = 0; i < 5; i++)
        {
            await AdminApi.SendAsync(relay, $"page-{i}");
        }

        await AdminApi.SendAsync(relay, "other-1", path: "/hooks/other");
        await AdminApi.SendAsync(relay, "other-2", path: "/hooks/other");

        var all = (await AdminApi.GetAsync(admin, "/admin/events?limit=500")).GetProperty("events").EnumerateArray().ToArray();
        var paged = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await AdminApi.GetAsync(admin, "/admin/events?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            paged.AddRange(page.GetProperty("events").EnumerateArray());
            cursor = page.TryGetProperty("next", out var next) ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null && pages < 10);
        var others = (await AdminApi.GetAsync(admin, "/admin/events?source=other")).GetProperty("events").EnumerateArray().ToArray();

        Assert.Equal(7, all.Length);
        Assert.Equal(all.Select(Id), paged.Select(Id));
        Assert.Equal(3, pages);
        var times = all.Select(e => e.GetProperty("receivedAt").GetDateTimeOffset()).ToArray();
        Assert.Equal(times.OrderDescending(), times);
        Assert.Equal(2, others.Length);
        Assert.All(others, e => Assert.Equal("other", e.GetProperty("source").GetString()));
        Assert.All(all, e => Assert.Equal("signature_request.done", e.GetProperty("type").GetString()));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task GetEvent_RoutesThatDidNotMatch_ShownWithTheirReason(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        var yaml = AdminApi.Yaml(crm, archive).Replace(
            "routes: [{ target: crm }, { target: archive }]",
            """
            routes:
                  - { target: crm, events: ["signer.*"] }
                  - { target: archive, tags: [vip] }
                  - { target: archive, when: 'body.data.signature_request.status == "void"' }
                  - { target: archive, when: 'body.data.signature_request.external_id.startsWith("crm-")' }
                  - { target: crm, when: 'body.data.signature_request.status == "done"' }
            """,
            StringComparison.Ordinal);
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), yaml);
        using var admin = AdminApi.Client(relay);

        await AdminApi.SendAsync(relay, "routes-1");
        var e = await AdminApi.GetAsync(admin, $"/admin/events/{await AdminApi.OnlyEventIdAsync(admin)}");

        var routes = e.GetProperty("routes").EnumerateArray().Select(r => (r.GetProperty("target").GetString(), r.GetProperty("matched").GetBoolean(), r.GetProperty("reason").GetString())).ToArray();
        Assert.Equal([("crm", false, "eventType"), ("archive", false, "tags"), ("archive", false, "when"), ("archive", false, "whenFailed"), ("crm", true, "matched")], routes);
        Assert.Contains("external_id", e.GetProperty("routes")[3].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(e.GetProperty("routes")[2].TryGetProperty("detail", out _));
        Assert.Equal(["crm"], e.GetProperty("targets").EnumerateObject().Select(t => t.Name));
        var source = (await AdminApi.GetAsync(admin, "/admin/sources")).GetProperty("sources").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "yousign");
        Assert.Equal(
            [null, null, "body.data.signature_request.status == \"void\"", "body.data.signature_request.external_id.startsWith(\"crm-\")", "body.data.signature_request.status == \"done\""],
            source.GetProperty("routes").EnumerateArray().Select(r => r.TryGetProperty("when", out var when) ? when.GetString() : null));
    }

    [Fact]
    public async Task ListEvents_BadLimitOrCursor_400Problem()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);

        foreach (var query in new[] { "limit=0", "limit=501", "limit=ten", "limit=-1", "cursor=not-a-cursor!", "cursor=bm9jb2xvbg" })
        {
            var response = await admin.GetAsync(new Uri("/admin/events?" + query, UriKind.Relative));
            var detail = await AdminApi.ProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.Contains(query.Split('=')[0], detail, StringComparison.Ordinal);
        }

        await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin/targets/crm/dead-letters?limit=1000", UriKind.Relative)), HttpStatusCode.BadRequest);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task GetEvent_OneTargetRejectsOneAccepts_RedactedViewWithStatesReasonAndAttempts(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        crm.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 400;
            return Task.CompletedTask;
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm, archive));
        using var admin = AdminApi.Client(relay);

        await AdminApi.SendAsync(relay, "detail-1", requestId: "https://files.example/contract.pdf?X-Amz-Signature=s3cr3t");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        var e = await AdminApi.WaitForAsync(admin, $"/admin/events/{id}", e => AdminApi.State(e, "crm") == "dead" && AdminApi.State(e, "archive") == "delivered");

        Assert.Equal(id, e.GetProperty("id").GetString());
        Assert.Equal("yousign", e.GetProperty("source").GetString());
        Assert.Equal("POST", e.GetProperty("method").GetString());
        Assert.Equal("utf-8", e.GetProperty("bodyEncoding").GetString());
        var body = e.GetProperty("body").GetString()!;
        Assert.Contains("\"event_id\":\"detail-1\"", body, StringComparison.Ordinal);
        Assert.Contains("https://files.example/contract.pdf?[redacted]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", e.ToString(), StringComparison.Ordinal);
        var headers = e.GetProperty("headers").EnumerateArray().ToDictionary(h => h.GetProperty("name").GetString()!, h => h.GetProperty("value").GetString(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("[redacted]", headers["X-Yousign-Signature-256"]);
        Assert.Equal("Yousign Webhook Bot", headers["User-Agent"]);
        Assert.DoesNotContain("sha256=", e.ToString(), StringComparison.Ordinal);

        var toCrm = e.GetProperty("targets").GetProperty("crm");
        Assert.Equal(1, toCrm.GetProperty("attempts").GetInt32());
        Assert.Equal("rejected: HTTP 400", toCrm.GetProperty("reason").GetString());
        Assert.True(toCrm.TryGetProperty("deadAt", out _));
        var toArchive = e.GetProperty("targets").GetProperty("archive");
        Assert.Equal(1, toArchive.GetProperty("attempts").GetInt32());
        Assert.True(toArchive.TryGetProperty("deliveredAt", out _));
        var attempts = e.GetProperty("attempts").EnumerateArray().ToArray();
        Assert.Equal([("archive", 200), ("crm", 400)], attempts.Select(a => (a.GetProperty("target").GetString()!, a.GetProperty("status").GetInt32())).Order());
        Assert.All(attempts, a => Assert.True(a.GetProperty("durationMs").GetInt64() >= 0));

        var listed = Assert.Single((await AdminApi.GetAsync(admin, "/admin/events")).GetProperty("events").EnumerateArray());
        Assert.Equal("dead", AdminApi.State(listed, "crm"));
        Assert.Equal("delivered", AdminApi.State(listed, "archive"));
    }

    [Fact]
    public async Task GetEvent_BinaryBody_Base64()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $"""
            admin: {"{"} apiKeys: ["{AdminApi.Key}"] {"}"}
            sources:
              raw: {"{"} kind: hmac, path: /hooks/raw, secret: raw-secret, header: X-Sig, requireJson: false, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm)}
            """);
        using var admin = AdminApi.Client(relay);
        byte[] body = [0xff, 0xfe, 0x00, 0x01, 0x80];
        var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/raw") { Content = new ByteArrayContent(body) };
        request.Headers.TryAddWithoutValidation("X-Sig", Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("raw-secret"u8, body)));
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(request)).StatusCode);

        var id = await AdminApi.OnlyEventIdAsync(admin);
        var e = await AdminApi.GetAsync(admin, $"/admin/events/{id}");

        Assert.Equal("base64", e.GetProperty("bodyEncoding").GetString());
        Assert.Equal(body, Convert.FromBase64String(e.GetProperty("body").GetString()!));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Replay_AfterDelivery_TargetReceivesItAgainWithSameWebhookId(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), AdminApi.Yaml(crm, archive));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "replay-1");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        await AdminApi.WaitForAsync(admin, $"/admin/events/{id}", e => AdminApi.State(e, "crm") == "delivered" && AdminApi.State(e, "archive") == "delivered");

        var response = await admin.PostAsync(new Uri($"/admin/events/{id}/replay", UriKind.Relative), new StringContent("""{"targets":["crm"]}""", System.Text.Encoding.UTF8, "application/json"));
        var replay = await AdminApi.JsonAsync(response, HttpStatusCode.Accepted);

        Assert.Equal($"/admin/events/{id}", response.Headers.Location?.ToString());
        Assert.Equal("queued", replay.GetProperty("targets").GetProperty("crm").GetString());
        var received = await crm.WaitForAsync(2);
        Assert.Equal([id, id], received.Select(r => r.Header("webhook-id")));
        Assert.Equal(received[0].BodyText, received[1].BodyText);
        await AdminApi.WaitForAsync(admin, $"/admin/events/{id}", e => AdminApi.State(e, "crm") == "delivered");
        await Task.Delay(500);
        Assert.Single(archive.Received);

        // Without a body: every target of the event.
        await AdminApi.PostAsync(admin, $"/admin/events/{id}/replay", HttpStatusCode.Accepted);
        await crm.WaitForAsync(3);
        await archive.WaitForAsync(2);
    }

    [Fact]
    public async Task Replay_UnknownEventOrTargetOrBadBody_404And400Problems()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "replay-bad-1");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        await crm.WaitForAsync(1);

        async Task<string> Replay(string path, string? json, HttpStatusCode status) => await AdminApi.ProblemAsync(
            await admin.PostAsync(new Uri(path, UriKind.Relative), json is null ? null : new StringContent(json, System.Text.Encoding.UTF8, "application/json")), status);

        Assert.Contains("evt_01JDXAMPLE7Q2Z4N0TTM5GC8WB_1", await Replay("/admin/events/evt_01JDXAMPLE7Q2Z4N0TTM5GC8WB_1/replay", null, HttpStatusCode.NotFound), StringComparison.Ordinal);
        await Replay("/admin/events/not-an-id/replay", null, HttpStatusCode.NotFound);
        Assert.Contains("'archive' is not a target", await Replay($"/admin/events/{id}/replay", """{"targets":["archive"]}""", HttpStatusCode.BadRequest), StringComparison.Ordinal);
        await Replay($"/admin/events/{id}/replay", """{"targets":[]}""", HttpStatusCode.BadRequest);
        await Replay($"/admin/events/{id}/replay", "{not json", HttpStatusCode.BadRequest);
        Assert.Contains("evt_nope", await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin/events/evt_nope", UriKind.Relative)), HttpStatusCode.NotFound), StringComparison.Ordinal);
        await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin/no-such-thing", UriKind.Relative)), HttpStatusCode.NotFound);
        await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin", UriKind.Relative)), HttpStatusCode.NotFound);
        await Task.Delay(500);
        Assert.Single(crm.Received);
    }

    private static string Id(JsonElement e) => e.GetProperty("id").GetString()!;
}
