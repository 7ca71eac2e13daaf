using System.Net;
using System.Text;
using Relay.Sources;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Sources;

/// <summary>The signicat kind: parsing and verification alone, then end to end on both stores.</summary>
public sealed class SignicatTests
{
    private const string Secret = "test-signicat-secret";

    public static TheoryData<string> Stores => TestStore.All;

    [Fact]
    public void Read_PublishedSample_TypeIsSenderColonEventNameAndIdIsTheDedupeKey()
    {
        var handler = Handler($"secret: {Secret}");
        var body = Signing.Fixture("signicat/order-completed.json");

        var verdict = handler.Read(Request(body, ("X-Signicat-Signature", Signing.HexHmacSha256(Secret, body))));

        Assert.Equal(SourceOutcome.Accepted, verdict.Outcome);
        var incoming = Assert.Single(verdict.Events);
        Assert.Equal("signature-api:order.completed", incoming.Type);
        Assert.Equal("82fa52a9bc7549438b8c6aee71569fa7", incoming.DedupeKey);

        // The sample expired in 2023: kept and routed by default, but tagged so an operator sees it.
        Assert.Equal(["mock", SignicatKind.ExpiredTag], incoming.Tags);
        Assert.True(incoming.Routed);
    }

    [Fact]
    public void Read_ConfiguredHeaderBase64AndPrefix_VerifiesThatSchemeOnly()
    {
        var handler = Handler($"secret: {Secret}, header: X-Signature, encoding: base64, prefix: \"sha256=\"");
        var body = Signing.SignicatEvent("b64-1");
        var base64 = "sha256=" + Convert.ToBase64String(Convert.FromHexString(Signing.HexHmacSha256(Secret, body)));

        Assert.Equal(SourceOutcome.Accepted, handler.Read(Request(body, ("X-Signature", base64))).Outcome);
        Assert.Equal(SourceOutcome.Unauthorized, handler.Read(Request(body, ("X-Signature", Signing.HexHmacSha256(Secret, body)))).Outcome);
        Assert.Equal(SourceOutcome.Unauthorized, handler.Read(Request(body, ("X-Signicat-Signature", base64))).Outcome);
    }

    [Fact]
    public void Read_SignedTemplateWithTimestampHeader_CoversTheTimestamp()
    {
        var handler = Handler($"secret: {Secret}, template: \"{{timestamp}}.{{body}}\", timestampHeader: X-Timestamp");
        var body = Signing.SignicatEvent("ts-1");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = Signing.HexHmacSha256(Secret, $"{now}.{body}");

        Assert.Equal(SourceOutcome.Accepted, handler.Read(Request(body, ("X-Signicat-Signature", signature), ("X-Timestamp", now))).Outcome);
        Assert.Equal(SourceOutcome.Unauthorized, handler.Read(Request(body, ("X-Signicat-Signature", Signing.HexHmacSha256(Secret, body)), ("X-Timestamp", now))).Outcome);
    }

    [Theory]
    [InlineData("""{"sender":"signature-api","eventName":"order.completed"}""", "id, sender and eventName are required")]
    [InlineData("""{"id":"x","eventName":"order.completed"}""", "id, sender and eventName are required")]
    [InlineData("""{"id":"x","sender":"s","eventName":"e","expiresAt":"soon"}""", "expiresAt is not an ISO 8601 date and time")]
    [InlineData("""[1,2]""", "body is not a JSON object")]
    public void Read_MalformedEvent_BadRequestSayingWhy(string body, string reason)
    {
        var verdict = Handler($"secret: {Secret}").Read(Request(body, ("X-Signicat-Signature", Signing.HexHmacSha256(Secret, body))));

        Assert.Equal(SourceOutcome.BadRequest, verdict.Outcome);
        Assert.Equal(reason, verdict.Reason);
    }

    [Fact]
    public void Load_MissingSecretOrBadTemplate_ErrorsNameTheKey()
    {
        var missingSecret = SourceHarness.Errors("kind: signicat, path: /hooks/a");
        var badTemplate = SourceHarness.Errors("kind: signicat, path: /hooks/b, secret: s, template: \"{timestamp}\"");

        Assert.Contains(missingSecret, e => e.StartsWith("sources:source:secret: is required", StringComparison.Ordinal) && e.Contains("SIGNICAT_SECRET"));
        Assert.Contains(badTemplate, e => e.StartsWith("sources:source:template:", StringComparison.Ordinal) && e.Contains("{body}"));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_PublishedSample_AckedAndDeliveredRawToMatchingRoute(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, crm, routes: """[{ target: crm, events: ["signature-api:*"] }]""");
        var body = Signing.Fixture("signicat/order-completed.json");

        var response = await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, response.Content.Headers.ContentLength);
        Assert.Null(response.Content.Headers.ContentType);
        var delivered = Assert.Single(await crm.WaitForAsync(1));
        Assert.Equal("POST", delivered.Method);
        Assert.Equal(body, delivered.BodyText);
        Assert.StartsWith("application/json", delivered.Header("Content-Type"));
        Assert.Equal(Signing.HexHmacSha256(Secret, body), delivered.Header("X-Signicat-Signature"));
        Assert.Equal("signature-api:order.completed", delivered.Header("X-Relay-Event-Type"));
        Assert.Equal("signicat", delivered.Header("X-Relay-Source"));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_ForgedOrUnsigned_401AndNothingStoredOrDelivered(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, crm);
        var body = Signing.SignicatEvent("forged-1");

        var forged = await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, body, Signing.HexHmacSha256("wrong-secret", body)));
        var unsigned = Signing.SignicatRequest("/hooks/signicat", Secret, body);
        unsigned.Headers.Remove("X-Signicat-Signature");

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await relay.Client.SendAsync(unsigned)).StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));
        await crm.WaitForExactlyAsync(0, TimeSpan.FromMilliseconds(300));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_RetryOfSameId_SameAckAndDeliveredOnce(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, crm);
        var body = Signing.SignicatEvent("dup-1");

        var first = await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, body));
        var retry = await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, body));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        await crm.WaitForExactlyAsync(1);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_MalformedOrWrongContentType_400Or415AndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, crm);
        const string NotJson = "id=1&sender=x";
        const string NoEventName = """{"id":"m-1","sender":"signature-api"}""";
        var body = Signing.SignicatEvent("ct-1");
        var asText = new HttpRequestMessage(HttpMethod.Post, "/hooks/signicat") { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
        asText.Headers.TryAddWithoutValidation("X-Signicat-Signature", Signing.HexHmacSha256(Secret, body));

        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, NotJson))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, NoEventName))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await relay.Client.SendAsync(asText)).StatusCode);
        var notUtf8 = Signing.JsonWithInvalidUtf8("id", ",\"sender\":\"signature-api\",\"eventName\":\"order.completed\"");
        var notUtf8Response = await relay.Client.SendAsync(Signing.JsonPost("/hooks/signicat", notUtf8, "X-Signicat-Signature", Signing.HexHmacSha256(Secret, notUtf8)));
        Assert.Equal(HttpStatusCode.BadRequest, notUtf8Response.StatusCode);
        Assert.Equal("body is not valid UTF-8\n", await notUtf8Response.Content.ReadAsStringAsync());
        Assert.Empty(await StoreKeysAsync(relay));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_TagRouteFilter_OnlyTaggedEventsReachTheFilteredTarget(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $"""
            sources:
              signicat:
                kind: signicat
                path: /hooks/signicat
                secret: {Secret}
                routes:
                  - target: crm
                    tags: [production]
                  - target: archive
            targets:
              crm: {Target(crm)}
              archive: {Target(archive)}
            """);
        var mock = Signing.SignicatEvent("tag-1", tags: """["mock"]""");
        var production = Signing.SignicatEvent("tag-2", tags: """["production","eu"]""");

        await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, mock));
        await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, production));

        Assert.Equal(2, (await archive.WaitForAsync(2)).Count);
        Assert.Equal(production, Assert.Single(await crm.WaitForExactlyAsync(1)).BodyText);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_DropExpired_ExpiredEventAckedAndKeptButNotDelivered(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(storeName, crm, extra: "dropExpired: true");
        var expired = Signing.SignicatEvent("late-1", expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1));
        var fresh = Signing.SignicatEvent("fresh-1");

        var late = await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, expired));
        await relay.Client.SendAsync(Signing.SignicatRequest("/hooks/signicat", Secret, fresh));

        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.Equal(fresh, Assert.Single(await crm.WaitForExactlyAsync(1)).BodyText);
        var ids = await EventIdsAsync(relay);
        Assert.Equal(2, ids.Count);
        var states = await Task.WhenAll(ids.Select(id => EventStateAsync(relay, id)));
        var kept = Assert.Single(states, s => s["dedupeKey"] == "late-1");
        Assert.Contains(SignicatKind.ExpiredTag, kept["tags"]);
        Assert.Equal("", kept["targets"]);
    }

    private static Task<RelayHost> StartAsync(string storeName, FakeTarget crm, string routes = "[{ target: crm }]", string extra = "") =>
        RelayHost.StartAsync(TestStore.Named(storeName), $"""
            sources:
              signicat:
                kind: signicat
                path: /hooks/signicat
                secret: {Secret}
                {extra}
                routes: {routes}
            targets:
              crm: {Target(crm)}
            """);

    private static ISourceHandler Handler(string settings) => SourceHarness.Handler($"kind: signicat, path: /hooks/signicat, {settings}");

    private static IngressRequest Request(string body, params (string Name, string Value)[] headers) =>
        SourceHarness.Request(Encoding.UTF8.GetBytes(body), "application/json", headers: headers);
}
