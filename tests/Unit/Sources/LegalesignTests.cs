using System.Net;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Relay.Sources;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.StoreProbe;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Sources;

/// <summary>The legalesign kind: RSA-SHA1 signed form callbacks, Option 1 batches split per change, upon-event hooks.</summary>
public sealed class LegalesignTests
{
    private const string HookPath = "/hooks/legalesign";

    public static TheoryData<string> Stores => TestStore.All;

    private static string Sample => Signing.Fixture("legalesign/option1-data.json");

    [Fact]
    public void Read_PublishedBatch_OneEventPerChangeTypedByResourceNameAndValue()
    {
        var folder = new TestFolder().Path;
        using var signer = new RsaCallbackSigner(folder);
        var handler = SourceHarness.Handler("kind: legalesign, path: /hooks/l, certificate: legalesign.pem", folder);

        var verdict = handler.Read(FormRequest("data=" + Uri.EscapeDataString(Sample) + "&signed=" + Uri.EscapeDataString(signer.Sign(Sample))));

        Assert.Equal(SourceOutcome.Accepted, verdict.Outcome);
        Assert.Equal(["signer.status.40", "document.status.30"], verdict.Events.Select(e => e.Type));
        Assert.Equal("/api/v1/signer/[signer-id]/", verdict.Events[0].OrderingKey);
        Assert.NotEqual(verdict.Events[0].DedupeKey, verdict.Events[1].DedupeKey);
        var body = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(verdict.Events[0].Body!));
        Assert.Equal("""[{"timestamp": "2018-03-20T07:09:52", "name": "status", "value": "40", "resource_uri": "/api/v1/signer/[signer-id]/"}]""", body["data"]);
        Assert.False(body.ContainsKey("signed"));
    }

    [Fact]
    public void Read_SignatureOverOtherBytes_Unauthorized()
    {
        var folder = new TestFolder().Path;
        using var signer = new RsaCallbackSigner(folder);
        var handler = SourceHarness.Handler("kind: legalesign, path: /hooks/l, certificate: legalesign.pem", folder);

        // Same JSON meaning, other bytes: the signature covers the exact string, so reformatting must not pass.
        var compact = Sample.Replace(": ", ":", StringComparison.Ordinal);
        var verdict = handler.Read(FormRequest("data=" + Uri.EscapeDataString(compact) + "&signed=" + Uri.EscapeDataString(signer.Sign(Sample))));

        Assert.Equal(SourceOutcome.Unauthorized, verdict.Outcome);
        Assert.Equal("signature mismatch", verdict.Reason);
    }

    /// <summary>
    /// Failure mode: an upon-event hook typed and ordered by its unsigned form fields. Whoever holds one genuine
    /// json_signed (a replay) could then give it any event type, reaching routes the signed event never would.
    /// </summary>
    [Fact]
    public void Read_UponEventHookWithUnsignedFieldsDiffering_TypeAndOrderingFromTheSignedJson()
    {
        var folder = new TestFolder().Path;
        using var signer = new RsaCallbackSigner(folder);
        var handler = SourceHarness.Handler("kind: legalesign, path: /hooks/l, certificate: legalesign.pem", folder);
        const string Json = """{"name": "Contract 8", "event": "rejected", "resource_uri": "/api/v1/document/d-8/", "uuid": "d-8"}""";
        var form = "event=signed&uuid=someone-else&resource_uri=%2Fapi%2Fv1%2Fdocument%2Fother%2F&json_signed=" + Uri.EscapeDataString(Json);

        var verdict = handler.Read(SourceHarness.Request(Encoding.UTF8.GetBytes(form), "application/x-www-form-urlencoded", headers: [("X-Signed", signer.Sign(Json))]));

        Assert.Equal(SourceOutcome.Accepted, verdict.Outcome);
        var incoming = Assert.Single(verdict.Events);
        Assert.Equal("rejected", incoming.Type);
        Assert.Equal("d-8", incoming.OrderingKey);
    }

    [Fact]
    public void Read_UponEventHookWhoseSignedJsonIsNoObject_BadRequestSayingWhy()
    {
        var folder = new TestFolder().Path;
        using var signer = new RsaCallbackSigner(folder);
        var handler = SourceHarness.Handler("kind: legalesign, path: /hooks/l, certificate: legalesign.pem", folder);
        const string NotJson = "event=signed";

        var verdict = handler.Read(SourceHarness.Request(
            Encoding.UTF8.GetBytes("event=signed&json_signed=" + Uri.EscapeDataString(NotJson)), "application/x-www-form-urlencoded", headers: [("X-Signed", signer.Sign(NotJson))]));

        Assert.Equal(SourceOutcome.BadRequest, verdict.Outcome);
        Assert.Equal("json_signed is not a JSON object", verdict.Reason);
    }

    [Fact]
    public void Load_CertificateMissingUnreadableOrNotRsa_ErrorNamesKeyAndFix()
    {
        var folder = new TestFolder().Path;
        File.WriteAllText(Path.Combine(folder, "garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
        using (var ecdsa = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=ec", ecdsa, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(Path.Combine(folder, "ec.pem"), certificate.ExportCertificatePem());
        }

        var none = SourceHarness.Errors("kind: legalesign, path: /hooks/l", folder);
        var missing = SourceHarness.Errors("kind: legalesign, path: /hooks/l, certificate: certs/legalesign.pem", folder);
        var garbage = SourceHarness.Errors("kind: legalesign, path: /hooks/l, certificate: garbage.pem", folder);
        var notRsa = SourceHarness.Errors("kind: legalesign, path: /hooks/l, certificate: ec.pem", folder);

        Assert.Contains(none, e => e.StartsWith("sources:source:certificate: is required", StringComparison.Ordinal));
        Assert.Contains(missing, e => e.StartsWith("sources:source:certificate:", StringComparison.Ordinal)
            && e.Contains(Path.Combine(folder, "certs", "legalesign.pem") + " does not exist", StringComparison.Ordinal) && e.Contains("set certificate:", StringComparison.Ordinal));
        Assert.Contains(garbage, e => e.StartsWith("sources:source:certificate:", StringComparison.Ordinal) && e.Contains("could not be read as an X.509 certificate", StringComparison.Ordinal));
        Assert.Contains(notRsa, e => e.StartsWith("sources:source:certificate:", StringComparison.Ordinal) && e.Contains("not RSA", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_PublishedBatch_EachChangeDeliveredOnItsOwnToMatchingRoutes(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await StartAsync(storeName, folder, archive, crm);

        var response = await relay.Client.SendAsync(signer.Batch(HookPath, Sample));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, response.Content.Headers.ContentLength);
        Assert.Null(response.Content.Headers.ContentType);
        var signed = Assert.Single(await crm.WaitForExactlyAsync(1));
        Assert.Equal("signer.status.40", signed.Header("X-Relay-Event-Type"));
        Assert.StartsWith("application/x-www-form-urlencoded", signed.Header("Content-Type"));
        Assert.Contains("\"value\": \"40\"", QueryHelpers.ParseQuery(signed.BodyText)["data"].ToString(), StringComparison.Ordinal);
        var archived = await archive.WaitForAsync(2);
        Assert.Equal(["document.status.30", "signer.status.40"], archived.Select(r => r.Header("X-Relay-Event-Type")).Order());
        Assert.Equal(2, archived.Select(r => r.Header("webhook-id")).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_BatchWithPartialDuplicate_OnlyNewChangesDelivered(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await StartAsync(storeName, folder, archive);
        const string A = """{"timestamp": "2018-03-20T07:09:52", "name": "status", "value": "10", "resource_uri": "/api/v1/signer/s-1/"}""";
        const string B = """{"timestamp": "2018-03-20T07:10:05", "name": "status", "value": "40", "resource_uri": "/api/v1/signer/s-1/"}""";
        const string C = """{"timestamp": "2018-03-20T07:10:05", "name": "status", "value": "30", "resource_uri": "/api/v1/document/d-1/"}""";

        var first = await relay.Client.SendAsync(signer.Batch(HookPath, $"[{A}, {B}]"));
        await archive.WaitForAsync(2);
        var second = await relay.Client.SendAsync(signer.Batch(HookPath, $"[{B}, {C}]"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await archive.WaitForExactlyAsync(3);
        Assert.Equal(
            new[] { $"[{A}]", $"[{B}]", $"[{C}]" }.Order(),
            archive.Received.Select(r => QueryHelpers.ParseQuery(r.BodyText)["data"].ToString()).Order());
        Assert.Equal(3, (await EventIdsAsync(relay)).Count);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_ForgedOrUnsigned_401AndNothingStoredOrDelivered(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        using var impostor = new RsaCallbackSigner(new TestFolder().Path);
        await using var relay = await StartAsync(storeName, folder, archive);

        var forged = await relay.Client.SendAsync(impostor.Batch(HookPath, Sample));
        var unsigned = await relay.Client.SendAsync(Signing.FormPost(HookPath, "data=" + Uri.EscapeDataString(Sample)));
        var notBase64 = await relay.Client.SendAsync(signer.Batch(HookPath, Sample, signed: "***"));
        var upon = Signing.FormPost(HookPath, "event=signed&json_signed=" + Uri.EscapeDataString("""{"event":"signed"}"""));
        upon.Headers.TryAddWithoutValidation("X-Signed", impostor.Sign("""{"event":"signed"}"""));
        var forgedUpon = await relay.Client.SendAsync(upon);

        Assert.All(new[] { forged, unsigned, notBase64, forgedUpon }, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Empty(await StoreKeysAsync(relay));
        await archive.WaitForExactlyAsync(0, TimeSpan.FromMilliseconds(300));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_SameBatchAgain_SameAckAndEachChangeDeliveredOnce(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await StartAsync(storeName, folder, archive);

        var first = await relay.Client.SendAsync(signer.Batch(HookPath, Sample));
        var again = await relay.Client.SendAsync(signer.Batch(HookPath, Sample));

        Assert.Equal(first.StatusCode, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await again.Content.ReadAsByteArrayAsync());
        await archive.WaitForExactlyAsync(2);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_MalformedOrWrongContentType_400Or415AndNothingStored(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await StartAsync(storeName, folder, archive);
        const string NotJson = "[{\"timestamp\": ";
        const string NotAList = """{"timestamp": "2018-03-20T07:09:52"}""";
        const string MissingUri = """[{"timestamp": "2018-03-20T07:09:52", "name": "status", "value": "40"}]""";
        var asJson = new HttpRequestMessage(HttpMethod.Post, HookPath) { Content = new StringContent(Sample, Encoding.UTF8, "application/json") };
        var notUtf8 = new HttpRequestMessage(HttpMethod.Post, HookPath) { Content = new ByteArrayContent([.. "data="u8, 0xFF, 0xFE, .. "&signed=x"u8]) };
        notUtf8.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded");

        var responses = new[]
        {
            await relay.Client.SendAsync(notUtf8),
            await relay.Client.SendAsync(signer.Batch(HookPath, NotJson)),
            await relay.Client.SendAsync(signer.Batch(HookPath, NotAList)),
            await relay.Client.SendAsync(signer.Batch(HookPath, MissingUri)),
            await relay.Client.SendAsync(Signing.FormPost(HookPath, "something=else")),
        };

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        Assert.Equal("body is not UTF-8 form data\n", await responses[0].Content.ReadAsStringAsync());
        Assert.Contains("data[0] needs timestamp, name, value and resource_uri", await responses[3].Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await relay.Client.SendAsync(asJson)).StatusCode);
        Assert.Empty(await StoreKeysAsync(relay));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_UponEventHook_VerifiedByHeaderAndDeliveredAsReceived(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await StartAsync(storeName, folder, archive);
        const string Json = """{"name": "Contract 7", "event": "signed", "resource_uri": "/api/v1/document/d-7/", "uuid": "d-7"}""";
        var form = "name=Contract+7&event=signed&resource_uri=%2Fapi%2Fv1%2Fdocument%2Fd-7%2F&uuid=d-7&json_signed=" + Uri.EscapeDataString(Json);
        var request = Signing.FormPost(HookPath, form);
        request.Headers.TryAddWithoutValidation("X-Signed", signer.Sign(Json));

        var response = await relay.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var delivered = Assert.Single(await archive.WaitForAsync(1));
        Assert.Equal(form, delivered.BodyText);
        Assert.Equal("signed", delivered.Header("X-Relay-Event-Type"));
        Assert.Equal(signer.Sign(Json), delivered.Header("X-Signed"));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Accept_UponEventHookWithForgedUnsignedEventField_RoutedByTheSignedType(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await StartAsync(storeName, folder, archive, crm);
        const string Json = """{"name": "Contract 9", "event": "document.rejected", "uuid": "d-9"}""";
        var request = Signing.FormPost(HookPath, "event=signer.signed&uuid=d-9&json_signed=" + Uri.EscapeDataString(Json));
        request.Headers.TryAddWithoutValidation("X-Signed", signer.Sign(Json));

        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(request)).StatusCode);

        Assert.Equal("document.rejected", Assert.Single(await archive.WaitForAsync(1)).Header("X-Relay-Event-Type"));
        await crm.WaitForExactlyAsync(0, TimeSpan.FromMilliseconds(500));
    }

    private static Task<RelayHost> StartAsync(string storeName, TestFolder folder, FakeTarget archive, FakeTarget? crm = null) =>
        RelayHost.StartAsync(
            TestStore.Named(storeName),
            $"""
            sources:
              legalesign:
                kind: legalesign
                path: {HookPath}
                certificate: legalesign.pem
                routes:
                  - target: archive
            {(crm is null ? "" : "      - { target: crm, events: [\"signer.*\"] }")}
            targets:
              archive: {Target(archive)}
            {(crm is null ? "" : $"  crm: {Target(crm)}")}
            """,
            folder);

    private static Relay.Sources.IngressRequest FormRequest(string form) =>
        SourceHarness.Request(Encoding.UTF8.GetBytes(form), "application/x-www-form-urlencoded");
}
