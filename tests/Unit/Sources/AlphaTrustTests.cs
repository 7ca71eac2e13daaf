using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Relay.Sources;
using Relay.Sources.AlphaTrust;
using Relay.Tests.Admin;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Sources;

/// <summary>The alphatrust kind: unsigned GET/POST callbacks, path token, address allow list, the verification gate.</summary>
public sealed class AlphaTrustTests
{
    private const string Token = "tok-0123456789abcdef";
    private const string HookPath = "/hooks/alphatrust/" + Token;

    public static TheoryData<string> Stores => TestStore.All;

    private static string Sample => Signing.Fixture("alphatrust/skipped-document.form");

    [Fact]
    public void Read_SameFieldsAsGetOrPostInAnyOrder_SameDedupeKeyAndType()
    {
        var handler = SourceHarness.Handler($"kind: alphatrust, path: \"/hooks/alphatrust/{{token}}\", token: {Token}");
        var reordered = string.Join('&', Sample.Split('&').Reverse());

        var post = handler.Read(SourceHarness.Request(Encoding.UTF8.GetBytes(Sample), "application/x-www-form-urlencoded", routeValues: TokenRoute(Token)));
        var get = handler.Read(SourceHarness.Request([], null, method: "GET", queryString: "?" + reordered, routeValues: TokenRoute(Token)));
        var other = handler.Read(SourceHarness.Request(Encoding.UTF8.GetBytes(Sample.Replace("TXStatus=2", "TXStatus=4", StringComparison.Ordinal)), "application/x-www-form-urlencoded", routeValues: TokenRoute(Token)));

        Assert.Equal(SourceOutcome.Accepted, post.Outcome);
        Assert.Equal("skipped-document", post.Events[0].Type);
        Assert.Equal("1234567890", post.Events[0].OrderingKey);
        Assert.Equal(post.Events[0].DedupeKey, get.Events[0].DedupeKey);
        Assert.NotEqual(post.Events[0].DedupeKey, other.Events[0].DedupeKey);
    }

    [Fact]
    public void Read_DedupeExclude_FieldLeftOutOfTheKey()
    {
        var handler = SourceHarness.Handler($"kind: alphatrust, path: \"/hooks/alphatrust/{{token}}\", token: {Token}, dedupeExclude: [ps_securitytoken]");
        var otherToken = Sample.Replace("4bf44fb0", "00000000", StringComparison.Ordinal);

        var first = handler.Read(SourceHarness.Request(Encoding.UTF8.GetBytes(Sample), "application/x-www-form-urlencoded", routeValues: TokenRoute(Token)));
        var second = handler.Read(SourceHarness.Request(Encoding.UTF8.GetBytes(otherToken), "application/x-www-form-urlencoded", routeValues: TokenRoute(Token)));

        Assert.Equal(first.Events[0].DedupeKey, second.Events[0].DedupeKey);
    }

    [Theory]
    [InlineData("TransID=1&DocStatus=4EventType=document", "EventType is missing: a field value contains 'EventType=', so the sender left out an '&' before it")]
    [InlineData("TransID=1&DocStatus=4", "EventType is required")]
    [InlineData("TransID=1&EventType=", "EventType is required")]
    public void Read_NoEventType_BadRequestSayingWhy(string query, string reason)
    {
        var handler = SourceHarness.Handler($"kind: alphatrust, path: \"/hooks/alphatrust/{{token}}\", token: {Token}");

        var verdict = handler.Read(SourceHarness.Request([], null, method: "GET", queryString: "?" + query, routeValues: TokenRoute(Token)));

        Assert.Equal(SourceOutcome.BadRequest, verdict.Outcome);
        Assert.Equal(reason, verdict.Reason);
    }

    [Theory]
    [InlineData("::ffff:203.0.113.9", true)]
    [InlineData("203.0.113.9", true)]
    [InlineData("203.0.114.1", false)]
    [InlineData("2001:db8::5", true)]
    [InlineData("2001:db9::5", false)]
    public void Read_AllowFrom_IPv4IPv6AndMappedAddresses(string remote, bool allowed)
    {
        var handler = SourceHarness.Handler("kind: alphatrust, path: /hooks/alphatrust, allowFrom: [\"203.0.113.0/24\", \"2001:db8::/32\"]");

        var verdict = handler.Read(SourceHarness.Request([], null, method: "GET", queryString: "?EventType=document", remoteIp: IPAddress.Parse(remote)));

        Assert.Equal(allowed ? SourceOutcome.Accepted : SourceOutcome.Unauthorized, verdict.Outcome);
    }

    [Fact]
    public void Load_Defaults_AckIsRECEIVEDAndDedupeWindowOneHourUnlessSet()
    {
        var (snapshot, errors) = Relay.Tests.Configuration.ConfigLoaderTests.Load($$"""
            sources:
              a: { kind: alphatrust, path: "/hooks/a/{token}", token: {{Token}} }
              b: { kind: alphatrust, path: /hooks/b, allowFrom: 10.0.0.0/8, dedupeWindow: 10m, ack: { body: OK } }
            """);

        Assert.Empty(errors);
        Assert.Equal(new Relay.Sources.AckConfig(200, "text/plain", "RECEIVED"), snapshot!.Config.Sources["a"].Ack);
        Assert.Equal(TimeSpan.FromHours(1), snapshot.Config.Sources["a"].DedupeWindow);
        Assert.Equal(TimeSpan.FromMinutes(10), snapshot.Config.Sources["b"].DedupeWindow);
        Assert.Equal("OK", snapshot.Config.Sources["b"].Ack.Body);
    }

    [Theory]
    [InlineData("path: /hooks/a", "sources:source:token:", "and/or allowFrom")]
    [InlineData("path: /hooks/a, allowFrom: [\"10.0.0.1/8\"]", "sources:source:allowFrom:0:", "has bits set after the prefix length. Write 10.0.0.0/8 for the range, or 10.0.0.1 for the one address")]
    [InlineData("path: /hooks/a, allowFrom: [\"alphatrust.com\"]", "sources:source:allowFrom:0:", "not an IP address or CIDR range")]
    [InlineData("path: /hooks/a, allowFrom: []", "sources:source:token:", "and/or allowFrom")]
    [InlineData("path: /hooks/a, allowFrom: [~]", "sources:source:allowFrom:0:", "is empty. Give it a value, or remove the item")]
    [InlineData("path: /hooks/a, allowFrom: [\"203.0.113.7\", ~]", "sources:source:allowFrom:1:", "is empty")]
    [InlineData("path: /hooks/a, token: " + Token, "sources:source:path:", "has no {token} segment")]
    [InlineData("path: \"/hooks/a/{token}\"", "sources:source:token:", "is required. The path contains {token}")]
    [InlineData("path: \"/hooks/a/{token}\", token: short", "sources:source:token:", "shorter than 16")]
    [InlineData("path: /hooks/a, allowFrom: [10.0.0.0/8], verify: { url: \"not a url\" }", "sources:source:verify:url:", "not an absolute http or https URL")]
    [InlineData("path: /hooks/a, allowFrom: [10.0.0.0/8], verify: { url: \"http://v\", timeout: 1m }", "sources:source:verify:timeout:", "at most 30s")]
    public void Load_BadAuthenticityOrVerifySettings_ErrorNamesKeyAndFix(string settings, string key, string fix)
    {
        var errors = SourceHarness.Errors("kind: alphatrust, " + settings);

        Assert.Contains(errors, e => e.StartsWith(key, StringComparison.Ordinal) && e.Contains(fix, StringComparison.Ordinal));
    }

    /// <summary>
    /// Failure mode: an allow list holding only empty items (`- ~`, or a Helm value that rendered to nothing) once
    /// counted as "allowFrom is set" while allowing nothing to be checked, so the source took callbacks from anyone.
    /// </summary>
    [Theory]
    [InlineData("    allowFrom:\n      - ~\n")]
    [InlineData("    allowFrom:\n      -\n      -\n")]
    [InlineData("    allowFrom: [null]\n")]
    public void Load_AllowFromWithOnlyEmptyItems_ConfigErrorAndNoHandler(string allowFrom)
    {
        var (snapshot, errors) = Relay.Tests.Configuration.ConfigLoaderTests.Load("sources:\n  a:\n    kind: alphatrust\n    path: /hooks/a\n" + allowFrom);

        Assert.Null(snapshot);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.StartsWith("sources:a:allowFrom:", e, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_PostAndGet_AckedWithExactTextAndReplayedWithTheirOwnMethod(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, $"token: {Token}", [crm]);
        const string GetFields = "TransID=2222222222&PartID=3333333333&PartStatus=6&EventType=participant&ps_securitytoken=11111111-2222-3333-4444-555555555555";

        var post = await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));
        var get = await relay.Client.GetAsync(new Uri($"{HookPath}?{GetFields}", UriKind.Relative));

        foreach (var response in new[] { post, get })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.ToString());
            Assert.Equal("RECEIVED"u8.ToArray(), await response.Content.ReadAsByteArrayAsync());
        }

        var delivered = await crm.WaitForAsync(2);
        var asPost = Assert.Single(delivered, r => r.Method == "POST");
        Assert.Equal(Sample, asPost.BodyText);
        Assert.StartsWith("application/x-www-form-urlencoded", asPost.Header("Content-Type"));
        Assert.Equal("skipped-document", asPost.Header("X-Relay-Event-Type"));
        var asGet = Assert.Single(delivered, r => r.Method == "GET");
        Assert.Equal($"?from=relay&{GetFields}", asGet.Query);
        Assert.Empty(asGet.Body);
        Assert.Equal("participant", asGet.Header("X-Relay-Event-Type"));
        Assert.All(delivered, r => Assert.DoesNotContain(Token, r.Path + r.Query, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_WrongPathTokenOrAddressNotAllowed_401AndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var tokenOnly = await StartAsync(storeName, $"token: {Token}", [crm]);
        await using var addressExcluded = await StartAsync(storeName, $"token: {Token}\n    allowFrom: [\"10.0.0.0/8\", \"::1/128\"]", [crm]);

        var wrongToken = await tokenOnly.Client.SendAsync(Signing.FormPost("/hooks/alphatrust/tok-wrong-wrong-wrong", Sample));
        var noToken = await tokenOnly.Client.SendAsync(Signing.FormPost("/hooks/alphatrust/", Sample));
        var fromLoopback = await addressExcluded.Client.SendAsync(Signing.FormPost(HookPath, Sample));

        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, fromLoopback.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, noToken.StatusCode);
        Assert.Empty(await StoreKeysAsync(tokenOnly));
        Assert.Empty(await StoreKeysAsync(addressExcluded));
        await crm.WaitForExactlyAsync(0, TimeSpan.FromMilliseconds(300));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_SameFieldsAgainAsPostOrGet_SameAckAndDeliveredOnce(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, $"token: {Token}", [crm]);

        var first = await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));
        var again = await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));
        var asGet = await relay.Client.GetAsync(new Uri($"{HookPath}?{string.Join('&', Sample.Split('&').Reverse())}", UriKind.Relative));

        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await again.Content.ReadAsByteArrayAsync());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await asGet.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Content.Headers.ContentType, asGet.Content.Headers.ContentType);
        await crm.WaitForExactlyAsync(1);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_MalformedOrWrongContentType_400Or415AndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, $"token: {Token}", [crm]);
        var notUtf8 = new HttpRequestMessage(HttpMethod.Post, HookPath) { Content = new ByteArrayContent([0x45, 0x76, 0xff, 0xfe, 0x3d, 0x31]) };
        notUtf8.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded");
        var asJson = new HttpRequestMessage(HttpMethod.Post, HookPath) { Content = new StringContent("""{"EventType":"document"}""", Encoding.UTF8, "application/json") };

        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.FormPost(HookPath, "TransID=1&DocStatus=4EventType=document"))).StatusCode);
        var notUtf8Response = await relay.Client.SendAsync(notUtf8);
        Assert.Equal(HttpStatusCode.BadRequest, notUtf8Response.StatusCode);
        Assert.Equal("body is not UTF-8 form data\n", await notUtf8Response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.GetAsync(new Uri(HookPath, UriKind.Relative))).StatusCode);

        // A form of 200,000 fields, well within the body limit, is refused before it is parsed.
        var manyFields = await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample + string.Concat(Enumerable.Repeat("&x=1", 200_000))));
        Assert.Equal(HttpStatusCode.BadRequest, manyFields.StatusCode);
        Assert.Equal($"the form has more than {Relay.Sources.FormBody.MaxFields} fields\n", await manyFields.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await relay.Client.SendAsync(asJson)).StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Gate_EndpointAccepts_AskedOnceForTwoTargetsAndBothDelivered(string storeName)
    {
        await using var verifier = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, $"token: {Token}\n    verify: {{ url: \"{verifier.Url}check\", timeout: 2s }}", [crm, archive]);

        var ack = await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));

        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        var id = Assert.Single(await crm.WaitForAsync(1)).Header("webhook-id");
        Assert.Single(await archive.WaitForAsync(1));
        var asked = Assert.Single(verifier.Received);
        Assert.Equal("POST", asked.Method);
        Assert.Equal("/check", asked.Path);
        Assert.Equal(Sample, asked.BodyText);
        Assert.StartsWith("application/x-www-form-urlencoded", asked.Header("Content-Type"));
        Assert.Equal("pass", (await EventStateAsync(relay, id))["check"]);
        await verifier.WaitForExactlyAsync(1, TimeSpan.FromMilliseconds(500));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Gate_EndpointRejects_QuarantinedForEveryTargetWithReasonAndNotDelivered(string storeName)
    {
        await using var verifier = await FakeTarget.StartAsync();
        verifier.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 403;
            return ctx.Response.WriteAsync("unknown security token");
        };
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(
            storeName, $"token: {Token}\n    verify: {{ url: \"{verifier.Url}check\" }}", [crm, archive], top: $"admin: {{ apiKeys: [\"{AdminApi.Key}\"] }}");

        await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));

        await verifier.WaitForAsync(1);
        var id = Assert.Single(await EventIdsAsync(relay));
        const string Reason = "quarantined: verification endpoint answered HTTP 403: unknown security token";
        Assert.Equal("quarantined", await WaitForStateAsync(relay, id, "crm", "quarantined"));
        Assert.Equal("quarantined", await WaitForStateAsync(relay, id, "archive", "quarantined"));
        var state = await EventStateAsync(relay, id);
        Assert.Equal(("quarantined", "verification endpoint answered HTTP 403: unknown security token"), (state["check"], state["check.reason"]));
        Assert.Equal(Reason, state["crm.reason"]);
        Assert.Equal(Reason, state["archive.reason"]);
        using var admin = AdminApi.Client(relay);
        var shown = await AdminApi.GetAsync(admin, $"/admin/events/{id}");
        Assert.Equal("quarantined", AdminApi.State(shown, "crm"));
        Assert.Equal(Reason, shown.GetProperty("targets").GetProperty("crm").GetProperty("reason").GetString());
        var shownBody = shown.GetProperty("body").GetString()!;
        Assert.Contains("ps_securitytoken=[redacted]", shownBody, StringComparison.Ordinal);
        Assert.DoesNotContain("4bf44fb0", shownBody, StringComparison.Ordinal);
        Assert.Contains("EventType=", shownBody, StringComparison.Ordinal);

        // A replay does not ask again and does not deliver: the verdict is kept with the event.
        await AdminApi.PostAsync(admin, $"/admin/events/{id}/replay", HttpStatusCode.Accepted, """{"targets":["crm"]}""");
        var replayed = await AdminApi.WaitForAsync(
            admin, $"/admin/events/{id}", e => e.GetProperty("attempts").EnumerateArray().Count(a => a.GetProperty("target").GetString() == "crm") == 2);
        Assert.Equal("quarantined", AdminApi.State(replayed, "crm"));
        Assert.All(replayed.GetProperty("attempts").EnumerateArray(), a => Assert.Equal(Reason, a.GetProperty("error").GetString()));
        await crm.WaitForExactlyAsync(0, TimeSpan.FromMilliseconds(500));
        Assert.Empty(archive.Received);
        Assert.Single(verifier.Received);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Gate_EndpointFailsThenRecovers_RetriedOnTheTargetScheduleThenDelivered(string storeName)
    {
        await using var verifier = await FakeTarget.StartAsync();
        verifier.Respond = static (ctx, n) =>
        {
            ctx.Response.StatusCode = n == 1 ? 503 : 200;
            return Task.CompletedTask;
        };
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, $"token: {Token}\n    verify: {{ url: \"{verifier.Url}check\" }}", [crm], schedule: "[200ms, 200ms]");

        await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));

        var delivered = Assert.Single(await crm.WaitForAsync(1));
        Assert.Equal("2", delivered.Header("X-Relay-Attempt"));
        Assert.Equal(2, verifier.Received.Count);
        Assert.Equal("pass", (await EventStateAsync(relay, delivered.Header("webhook-id")))["check"]);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Gate_EndpointUnreachable_RetryingWithReasonAndNoVerdictRecorded(string storeName)
    {
        var port = AdminApi.FreePort();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, $"token: {Token}\n    verify: {{ url: \"http://127.0.0.1:{port}/check\" }}", [crm], schedule: "[10s]");

        await relay.Client.SendAsync(Signing.FormPost(HookPath, Sample));

        var id = Assert.Single(await EventIdsAsync(relay));
        Assert.Equal("retrying", await WaitForStateAsync(relay, id, "crm", "retrying"));
        var state = await EventStateAsync(relay, id);
        Assert.Contains("delivery gate: verification endpoint unreachable", state["crm.reason"]);
        Assert.False(state.ContainsKey("check"));
        Assert.Empty(crm.Received);
    }

    /// <summary>Names of the targets <see cref="StartAsync"/> configures, in the order given.</summary>
    private static readonly string[] TargetNames = ["crm", "archive"];

    private static RouteValueDictionary TokenRoute(string token) => new() { [AlphaTrustKind.TokenParameter] = token };

    /// <param name="top">Top-level YAML put before the sources, e.g. an admin section.</param>
    private static Task<RelayHost> StartAsync(string storeName, string settings, FakeTarget[] targets, string schedule = "[1s, 2s]", string top = "") =>
        RelayHost.StartAsync(TestStore.Named(storeName), $"""
            {top}
            sources:
              alphatrust:
                kind: alphatrust
                path: "/hooks/alphatrust/{"{"}token{"}"}"
                {settings}
                routes: [{string.Join(", ", targets.Select((_, i) => $"{{ target: {TargetNames[i]} }}"))}]
            targets:
            {string.Join("\n", targets.Select((t, i) => $"  {TargetNames[i]}: {Target(t, schedule)}"))}
            """);
}
