using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Relay.Configuration;
using Relay.Tests.Infrastructure;
using Relay.Tests.Ingress;

namespace Relay.Tests.Hosting;

/// <summary>Editing relay.yaml while the relay runs: valid edits apply, invalid ones are refused and logged.</summary>
public sealed class HotReloadTests
{
    [Fact]
    public async Task Reload_AddTargetChangeFilterAndSecret_Applied()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var audit = await FakeTarget.StartAsync();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, Yaml("old-secret", crm, audit: null, crmEvents: "[\"signature_request.*\"]"));

        await relay.RewriteConfigAsync(store, Yaml("new-secret", crm, audit, crmEvents: "[\"signer.*\"]"));

        var oldSigned = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "old-secret", Signing.YousignEvent("r-1", "signer.done")));
        Assert.Equal(HttpStatusCode.Unauthorized, oldSigned.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "new-secret", Signing.YousignEvent("r-2", "signer.done")))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "new-secret", Signing.YousignEvent("r-3", "signature_request.done")))).StatusCode);

        var toCrm = Assert.Single(await crm.WaitForAsync(1));
        Assert.Equal("signer.done", toCrm.Header("X-Relay-Event-Type"));
        Assert.Equal(2, (await audit.WaitForAsync(2)).Count);
        await Task.Delay(500);
        Assert.Single(crm.Received);
    }

    [Fact]
    public async Task Reload_InvalidEdit_RejectedAndOldConfigKeepsServing()
    {
        await using var crm = await FakeTarget.StartAsync();
        var logs = new CapturedLogs();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, Yaml("s1", crm, audit: null), configure: logs.AttachTo);

        await relay.RewriteConfigAsync(store, Yaml("s1", crm, audit: null).Replace("timeout: 5s", "timeout: whenever", StringComparison.Ordinal) + "\n  extra: { url: \"not a url\" }\n");

        var provider = relay.Services.GetRequiredService<RelayConfigProvider>();
        Assert.Contains(provider.LastErrors, e => e.Contains("'whenever' is not a duration", StringComparison.Ordinal));
        Assert.Contains(provider.LastErrors, e => e.StartsWith("targets:extra:url:", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("Configuration change rejected (2 errors)", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s1", Signing.YousignEvent("still-1")))).StatusCode);
        await crm.WaitForAsync(1);
        var ready = await relay.Client.GetStringAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Contains("\"config\":{\"status\":\"Degraded\"", ready);

        await relay.RewriteConfigAsync(store, Yaml("s1", crm, audit: null));
        Assert.Empty(provider.LastErrors);
    }

    /// <summary>
    /// Failure mode: a reload with a misspelt key (here <c>sucessBody</c>) applied as if the key were not there. It is
    /// rejected, naming the key and the one meant, and the previous configuration keeps serving.
    /// </summary>
    [Fact]
    public async Task Reload_UnknownKey_RejectedAndOldConfigKeepsServing()
    {
        await using var crm = await FakeTarget.StartAsync();
        var logs = new CapturedLogs();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, Yaml("s1", crm, audit: null), configure: logs.AttachTo);
        var provider = relay.Services.GetRequiredService<RelayConfigProvider>();
        var before = provider.Current;

        await relay.RewriteConfigAsync(store, Yaml("s2", crm, audit: null).Replace("timeout: 5s,", "timeout: 5s, sucessBody: accepted,", StringComparison.Ordinal));

        var error = Assert.Single(provider.LastErrors);
        Assert.StartsWith("targets:crm:sucessBody: is not a known key; did you mean successBody?", error, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.Contains("Configuration change rejected (1 errors)", StringComparison.Ordinal) && l.Contains("targets:crm:sucessBody", StringComparison.Ordinal));
        Assert.Same(before, provider.Current);
        Assert.Equal(HttpStatusCode.Unauthorized, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s2", Signing.YousignEvent("new-secret-1")))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s1", Signing.YousignEvent("old-secret-1")))).StatusCode);
        await crm.WaitForAsync(1);
    }

    /// <summary>
    /// A reload whose route condition does not compile is refused like any other bad edit: the error names the route's
    /// <c>when</c>, and the routes in force (with their conditions) keep deciding.
    /// </summary>
    [Fact]
    public async Task Reload_BadCondition_RejectedAndOldConditionKeepsRouting()
    {
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.Garnet;
        var good = Yaml("s1", crm, audit: null).Replace("events: [\"*\"]", "events: [\"*\"], when: \"type.endsWith('.done')\"", StringComparison.Ordinal);
        await using var relay = await RelayHost.StartAsync(store, good);
        var provider = relay.Services.GetRequiredService<RelayConfigProvider>();
        var before = provider.Current;

        await relay.RewriteConfigAsync(store, good.Replace("type.endsWith('.done')", "type.endsWith('.done'", StringComparison.Ordinal));

        var error = Assert.Single(provider.LastErrors);
        Assert.StartsWith("sources:yousign:routes:0:when: is not a valid CEL expression:", error, StringComparison.Ordinal);
        Assert.Same(before, provider.Current);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s1", Signing.YousignEvent("cond-1", "signer.link_opened")))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s1", Signing.YousignEvent("cond-2", "signer.done")))).StatusCode);
        Assert.Equal("signer.done", Assert.Single(await crm.WaitForAsync(1)).Header("X-Relay-Event-Type"));
        await Task.Delay(300);
        Assert.Single(crm.Received);
    }

    /// <summary>
    /// Failure mode: a reload bringing in a target timeout too large for the HTTP handler's timers, after which every
    /// delivery threw. The reload is refused, and deliveries go on with the timeout in force.
    /// </summary>
    [Fact]
    public async Task Reload_TimeoutAboveItsCeiling_RejectedAndDeliveriesGoOn()
    {
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, Yaml("s1", crm, audit: null));

        await relay.RewriteConfigAsync(store, Yaml("s1", crm, audit: null).Replace("timeout: 5s", "timeout: 100d", StringComparison.Ordinal));

        var provider = relay.Services.GetRequiredService<RelayConfigProvider>();
        Assert.Equal(["targets:crm:timeout: 100d is too long; use at most 10m."], provider.LastErrors);
        Assert.Equal(TimeSpan.FromSeconds(5), provider.Current.Config.Targets["crm"].Timeout);
        Assert.Equal(HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s1", Signing.YousignEvent("after-1")))).StatusCode);
        Assert.Equal("delivered", await StoreProbe.WaitForStateAsync(relay, (await crm.WaitForAsync(1))[0].Header("webhook-id"), "crm", "delivered"));
    }

    [Fact]
    public async Task Reload_TargetRemovedDuringDelivery_InFlightDeliveryFinishes()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var audit = await FakeTarget.StartAsync();
        var arrived = new TaskCompletionSource();
        audit.Respond = async (ctx, _) =>
        {
            arrived.TrySetResult();
            await Task.Delay(1500);
            ctx.Response.StatusCode = 200;
        };
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, Yaml("s1", crm, audit));
        await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "s1", Signing.YousignEvent("inflight-1")));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(15));

        await relay.RewriteConfigAsync(store, Yaml("s1", crm, audit: null));

        var id = audit.Received[0].Header("webhook-id");
        Assert.Equal("delivered", await StoreProbe.WaitForStateAsync(relay, id, "audit", "delivered"));
        Assert.Single(audit.Received);
    }

    private static string Yaml(string secret, FakeTarget crm, FakeTarget? audit, string crmEvents = "[\"*\"]") => $"""
        sources:
          yousign:
            kind: yousign
            path: /hooks/yousign
            secret: {secret}
            routes:
              - {"{"} target: crm, events: {crmEvents} {"}"}
        {(audit is null ? "" : "      - { target: audit }")}
        targets:
          crm: {TestYaml.Target(crm)}
        {(audit is null ? "" : $"  audit: {TestYaml.Target(audit)}")}
        """;
}
