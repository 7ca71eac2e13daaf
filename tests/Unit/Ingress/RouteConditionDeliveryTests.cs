using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Relay.Telemetry;
using Relay.Tests.Infrastructure;
using static Relay.Tests.Infrastructure.TestYaml;

namespace Relay.Tests.Ingress;

/// <summary>
/// Routes with <c>when:</c> conditions, end to end: vendor requests into a real relay on each store, deliveries to real
/// targets, and the failures counted and logged.
/// </summary>
public sealed class RouteConditionDeliveryTests
{
    private const string Secret = "condition-yousign-secret";
    private const string Token = "alphatrust-path-token-0123456789";

    public static TheoryData<string> Stores => TestStore.All;

    /// <summary>
    /// Yousign events go to the CRM or the ERP by their external id; an event without one fails both conditions: it is
    /// acked, delivered nowhere, and each failure is counted by source and target and logged with the event id.
    /// </summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Deliver_YousignByExternalId_EachEventToItsTargetAndFailuresCounted(string storeName)
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var erp = await FakeTarget.StartAsync();
        var logs = new CapturedLogs();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $$"""
            sources:
              yousign:
                kind: yousign
                path: /hooks/yousign
                secret: {{Secret}}
                routes:
                  - target: crm
                    events: ["signature_request.*"]
                    when: 'body.data.signature_request.external_id.startsWith("crm-")'
                  - target: erp
                    when: 'body.data.signature_request.external_id.startsWith("erp-") && headers["x-yousign-retry"] == "0"'
            targets:
              crm: {{Target(crm)}}
              erp: {{Target(erp)}}
            """, configure: logs.AttachTo);
        using var failures = new MetricCollector<long>(relay.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "relay.route.condition_failures");

        Assert.Equal(HttpStatusCode.OK, await SendAsync(relay, Event("y-1", "crm-1")));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(relay, Event("y-2", "erp-2")));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(relay, Event("y-3", "crm-3", name: "signer.done")));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(relay, Signing.YousignEvent("y-4")));

        Assert.Contains("\"event_id\":\"y-1\"", Assert.Single(await crm.WaitForExactlyAsync(1)).BodyText, StringComparison.Ordinal);
        Assert.Contains("\"event_id\":\"y-2\"", Assert.Single(await erp.WaitForExactlyAsync(1)).BodyText, StringComparison.Ordinal);
        var counted = failures.GetMeasurementSnapshot();
        Assert.Equal(
            [("yousign", "crm"), ("yousign", "erp")],
            counted.Select(m => ((string)m.Tags["source"]!, (string)m.Tags["target"]!)).Order());
        Assert.All(counted, m => Assert.Equal(1, m.Value));
        var failed = new List<(string Id, string Routes)>();
        foreach (var stored in await StoreProbe.EventIdsAsync(relay))
        {
            var routes = (await StoreProbe.EventStateAsync(relay, stored)).Single(f => f.Value.Contains("\"verdict\"", StringComparison.Ordinal)).Value;
            if (routes.Contains("whenFailed", StringComparison.Ordinal))
            {
                failed.Add((stored, routes));
            }
        }

        var (id, decisions) = Assert.Single(failed);
        Assert.Equal(2, decisions.Split("whenFailed").Length - 1);
        Assert.Contains(logs.Lines, l => l.StartsWith("Debug", StringComparison.Ordinal) && l.Contains("route to erp failed for event " + id, StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.StartsWith("Debug", StringComparison.Ordinal) && l.Contains("route to crm failed for event " + id, StringComparison.Ordinal));
    }

    /// <summary>A Legalesign batch is split into its changes, and each change is routed on its own fields.</summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Deliver_LegalesignBatch_EachChangeRoutedOnItsOwnFields(string storeName)
    {
        await using var signers = await FakeTarget.StartAsync();
        await using var documents = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        using var signer = new RsaCallbackSigner(folder.Path);
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $$"""
            sources:
              legalesign:
                kind: legalesign
                path: /hooks/legalesign
                certificate: legalesign.pem
                routes:
                  - { target: signers, when: 'body.resource_uri.startsWith("/api/v1/signer/") && body.value == "40"' }
                  - { target: documents, when: 'body.resource_uri.contains("/document/") && int(body.value) >= 30' }
            targets:
              signers: {{Target(signers)}}
              documents: {{Target(documents)}}
            """, folder);
        const string Batch = """
            [{"timestamp": "2018-03-20T07:09:52", "name": "status", "value": "40", "resource_uri": "/api/v1/signer/s-1/"}, {"timestamp": "2018-03-20T07:09:53", "name": "status", "value": "30", "resource_uri": "/api/v1/document/d-1/"}, {"timestamp": "2018-03-20T07:09:54", "name": "status", "value": "10", "resource_uri": "/api/v1/signer/s-2/"}]
            """;

        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(signer.Batch("/hooks/legalesign", Batch))).StatusCode);

        Assert.Equal("signer.status.40", Assert.Single(await signers.WaitForExactlyAsync(1)).Header("X-Relay-Event-Type"));
        Assert.Equal("document.status.30", Assert.Single(await documents.WaitForExactlyAsync(1)).Header("X-Relay-Event-Type"));
    }

    /// <summary>AlphaTrust's form fields are strings: the archive takes documents in status 4, sent as POST or GET.</summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Deliver_AlphaTrustFormOrQuery_FieldsReadAsStrings(string storeName)
    {
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Named(storeName), $$"""
            sources:
              alphatrust:
                kind: alphatrust
                path: "/hooks/alphatrust/{token}"
                token: {{Token}}
                routes:
                  - { target: archive, when: 'body.DocStatus == "4"' }
            targets:
              archive: {{Target(archive)}}
            """);
        const string Path = "/hooks/alphatrust/" + Token;

        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.FormPost(Path, "TransID=1&DocID=11&DocStatus=4&EventType=document"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.FormPost(Path, "TransID=1&DocID=12&DocStatus=2&EventType=document"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.GetAsync(new Uri(Path + "?TransID=2&DocID=13&DocStatus=4&EventType=document", UriKind.Relative))).StatusCode);

        var delivered = await archive.WaitForExactlyAsync(2);
        var fields = delivered.Select(r => r.BodyText + r.Query).ToArray();
        Assert.Contains(fields, f => f.Contains("DocID=11", StringComparison.Ordinal));
        Assert.Contains(fields, f => f.Contains("DocID=13", StringComparison.Ordinal));
    }

    private static async Task<HttpStatusCode> SendAsync(RelayHost relay, string body) =>
        (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, body))).StatusCode;

    private static string Event(string id, string externalId, string name = "signature_request.done") =>
        "{\"event_id\":\"" + id + "\",\"event_name\":\"" + name + "\",\"data\":{\"signature_request\":{\"id\":\"sr-" + id + "\",\"external_id\":\"" + externalId + "\"}}}";
}
