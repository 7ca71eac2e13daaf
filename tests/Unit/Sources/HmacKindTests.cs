using System.Net;
using System.Text;
using Relay.Sources;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Sources;

/// <summary>The generic hmac kind: what it does with bodies it cannot read, alone and through the real relay.</summary>
public sealed class HmacKindTests
{
    private const string Secret = "test-hmac-secret";
    private const string HookPath = "/hooks/hmac";

    public static TheoryData<string> Stores => TestStore.All;

    public static TheoryData<byte[], string> MalformedBodies => new()
    {
        { Encoding.UTF8.GetBytes("this is not json"), "body is not a JSON object" },
        { Encoding.UTF8.GetBytes("[1,2]"), "body is not a JSON object" },
        { Signing.JsonWithInvalidUtf8("type"), "body is not valid UTF-8" },
        { Signing.JsonWithInvalidUtf8("id", ",\"type\":\"order.done\""), "body is not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void Read_MalformedBody_BadRequestSayingWhy(byte[] body, string reason)
    {
        var handler = SourceHarness.Handler($"kind: hmac, path: {HookPath}, secret: {Secret}, header: X-Sig, idField: id");

        var verdict = handler.Read(SourceHarness.Request(body, "application/json", headers: [("X-Sig", Signing.HexHmacSha256(Secret, body))]));

        Assert.Equal(SourceOutcome.BadRequest, verdict.Outcome);
        Assert.Equal(reason, verdict.Reason);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_MalformedOrWrongContentType_400Or415AndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $$"""
            sources:
              partner: { kind: hmac, path: {{HookPath}}, secret: {{Secret}}, header: X-Sig, idField: id, routes: [{ target: crm }] }
            targets:
              crm: {{Target(crm)}}
            """);
        var notUtf8 = Signing.JsonWithInvalidUtf8("id", ",\"type\":\"order.done\"");
        var notJson = "id=1"u8.ToArray();
        var asText = Signing.JsonPost(HookPath, notJson, "X-Sig", Signing.HexHmacSha256(Secret, notJson));
        asText.Content!.Headers.Remove("Content-Type");
        asText.Content.Headers.TryAddWithoutValidation("Content-Type", "text/plain");

        var notUtf8Response = await relay.Client.SendAsync(Signing.JsonPost(HookPath, notUtf8, "X-Sig", Signing.HexHmacSha256(Secret, notUtf8)));

        Assert.Equal(HttpStatusCode.BadRequest, notUtf8Response.StatusCode);
        Assert.Equal("body is not valid UTF-8\n", await notUtf8Response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Signing.JsonPost(HookPath, notJson, "X-Sig", Signing.HexHmacSha256(Secret, notJson)))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await relay.Client.SendAsync(asText)).StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));

        // The same source takes a well-formed event: the rejections above were about the bodies.
        var good = """{"id":"h-1","type":"order.done"}"""u8.ToArray();
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.JsonPost(HookPath, good, "X-Sig", Signing.HexHmacSha256(Secret, good)))).StatusCode);
        Assert.Equal("order.done", Assert.Single(await crm.WaitForAsync(1)).Header("X-Relay-Event-Type"));
    }
}
