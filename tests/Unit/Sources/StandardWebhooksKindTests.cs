using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Relay.Sources;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Sources;

/// <summary>The standard-webhooks kind: what it does with bodies it cannot read, alone and through the real relay.</summary>
public sealed class StandardWebhooksKindTests
{
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string HookPath = "/hooks/partner";

    public static TheoryData<string> Stores => TestStore.All;

    public static TheoryData<byte[], string> MalformedBodies => new()
    {
        { Encoding.UTF8.GetBytes("this is not json"), "body is not a JSON object" },
        { Encoding.UTF8.GetBytes("\"a string\""), "body is not a JSON object" },
        { Signing.JsonWithInvalidUtf8("type"), "body is not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void Read_MalformedBody_BadRequestSayingWhy(byte[] body, string reason)
    {
        var handler = SourceHarness.Handler($"kind: standard-webhooks, path: {HookPath}, secret: \"{Secret}\"");
        var headers = Sign("msg_1", body);

        var verdict = handler.Read(SourceHarness.Request(body, "application/json", headers: headers.Select(h => (h.Key, h.Value))));

        Assert.Equal(SourceOutcome.BadRequest, verdict.Outcome);
        Assert.Equal(reason, verdict.Reason);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_MalformedBody_400AndNothingStored(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $$"""
            sources:
              partner: { kind: standard-webhooks, path: {{HookPath}}, secret: "{{Secret}}", routes: [{ target: crm }] }
            targets:
              crm: {{Target(crm)}}
            """);
        var notUtf8 = Signing.JsonWithInvalidUtf8("type");
        var notJson = "type=x"u8.ToArray();

        var notUtf8Response = await relay.Client.SendAsync(Request("msg_bad_1", notUtf8));

        Assert.Equal(HttpStatusCode.BadRequest, notUtf8Response.StatusCode);
        Assert.Equal("body is not valid UTF-8\n", await notUtf8Response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await relay.Client.SendAsync(Request("msg_bad_2", notJson))).StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));

        // The same source takes a well-formed event: the rejections above were about the bodies.
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Request("msg_good_1", """{"type":"invoice.paid"}"""u8.ToArray()))).StatusCode);
        Assert.Equal("invoice.paid", Assert.Single(await crm.WaitForAsync(1)).Header("X-Relay-Event-Type"));
    }

    private static HttpRequestMessage Request(string id, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, HookPath) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        foreach (var (name, value) in Sign(id, body))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>Signs the way the Standard Webhooks spec says, independently of the code under test.</summary>
    private static Dictionary<string, string> Sign(string id, byte[] body)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var key = Convert.FromBase64String(Secret["whsec_".Length..]);
        byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. body];
        var signature = HMACSHA256.HashData(key, signed);
        return new()
        {
            ["webhook-id"] = id,
            ["webhook-timestamp"] = timestamp,
            ["webhook-signature"] = "v1," + Convert.ToBase64String(signature),
        };
    }
}
