using System.Net;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin;

/// <summary>Who may call the admin API, and where it listens.</summary>
public sealed class AdminAuthTests
{
    [Fact]
    public async Task Auth_MissingWrongAndRightKey_401sWithChallengeThen200()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var anonymous = AdminApi.Client(relay, key: null);
        using var wrong = AdminApi.Client(relay, key: AdminApi.Key + "x");
        using var admin = AdminApi.Client(relay);

        var none = await anonymous.GetAsync(new Uri("/admin/targets", UriKind.Relative));
        var bad = await wrong.GetAsync(new Uri("/admin/targets", UriKind.Relative));
        var basic = new HttpRequestMessage(HttpMethod.Get, "/admin/targets");
        basic.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("admin:" + AdminApi.Key)));

        Assert.Contains("Bearer", await AdminApi.ProblemAsync(none, HttpStatusCode.Unauthorized), StringComparison.Ordinal);
        Assert.StartsWith("Bearer", none.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        await AdminApi.ProblemAsync(bad, HttpStatusCode.Unauthorized);
        Assert.Contains("invalid_token", bad.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        await AdminApi.ProblemAsync(await anonymous.SendAsync(basic), HttpStatusCode.Unauthorized);

        // Unauthenticated calls learn nothing, not even whether an event or a route exists.
        await AdminApi.ProblemAsync(await anonymous.GetAsync(new Uri("/admin/events/evt_nope_1", UriKind.Relative)), HttpStatusCode.Unauthorized);
        await AdminApi.ProblemAsync(await anonymous.PostAsync(new Uri("/admin/targets/crm/pause", UriKind.Relative), null), HttpStatusCode.Unauthorized);
        var targets = await AdminApi.GetAsync(admin, "/admin/targets");
        Assert.Equal("crm", Assert.Single(targets.GetProperty("targets").EnumerateArray()).GetProperty("id").GetString());
        Assert.False((await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets")[0].GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task Auth_KeyRotatedByReload_NewKeyWorksOldKeyRefused()
    {
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, AdminApi.Yaml(crm));
        using var oldKey = AdminApi.Client(relay);
        using var newKey = AdminApi.Client(relay, key: "rotated-admin-key-9876543210");
        await AdminApi.GetAsync(oldKey, "/admin/targets");

        await relay.RewriteConfigAsync(store, AdminApi.Yaml(crm).Replace(AdminApi.Key, "rotated-admin-key-9876543210", StringComparison.Ordinal));

        await AdminApi.GetAsync(newKey, "/admin/targets");
        await AdminApi.ProblemAsync(await oldKey.GetAsync(new Uri("/admin/targets", UriKind.Relative)), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Auth_NoKeysConfigured_AdminApiDisabled404()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm).Replace($"apiKeys: [\"{AdminApi.Key}\"]", "apiKeys: []", StringComparison.Ordinal));
        using var admin = AdminApi.Client(relay);

        Assert.Contains("admin.apiKeys", await AdminApi.ProblemAsync(await admin.GetAsync(new Uri("/admin/targets", UriKind.Relative)), HttpStatusCode.NotFound), StringComparison.Ordinal);
        await AdminApi.ProblemAsync(await admin.PostAsync(new Uri("/admin/targets/crm/test", UriKind.Relative), null), HttpStatusCode.NotFound);
        Assert.Empty(crm.Received);
    }

    [Fact]
    public async Task Listener_AdminUrlsSet_AdminOnlyOnItsPortAndWebhooksOnlyOnTheOther()
    {
        await using var crm = await FakeTarget.StartAsync();
        var port = AdminApi.FreePort();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm, adminExtra: $"  urls: \"http://127.0.0.1:{port}\"\n"));
        Assert.NotEqual(port, relay.Client.BaseAddress!.Port);
        using var onWebhookPort = AdminApi.Client(relay);
        using var onAdminPort = AdminApi.Client(new Uri($"http://127.0.0.1:{port}/"));

        // A Host header naming the admin port must not get through on the webhook port.
        var spoofed = new HttpRequestMessage(HttpMethod.Get, "/admin/targets");
        spoofed.Headers.Host = $"127.0.0.1:{port}";
        await AdminApi.ProblemAsync(await onWebhookPort.GetAsync(new Uri("/admin/targets", UriKind.Relative)), HttpStatusCode.NotFound);
        await AdminApi.ProblemAsync(await onWebhookPort.SendAsync(spoofed), HttpStatusCode.NotFound);
        await AdminApi.GetAsync(onAdminPort, "/admin/targets");

        await AdminApi.SendAsync(relay, "port-1");
        await crm.WaitForAsync(1);
        var webhookOnAdminPort = await onAdminPort.SendAsync(Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, Signing.YousignEvent("port-2")));
        await AdminApi.ProblemAsync(webhookOnAdminPort, HttpStatusCode.NotFound);
        Assert.Single((await AdminApi.GetAsync(onAdminPort, "/admin/events")).GetProperty("events").EnumerateArray());
    }

    [Fact]
    public async Task Store_Unreachable_503Problem()
    {
        var port = AdminApi.FreePort();
        await using var crm = await FakeTarget.StartAsync();
        var folder = new TestFolder();
        var config = Path.Combine(folder.Path, "relay.yaml");
        await File.WriteAllTextAsync(config, $"store: {{ connection: \"127.0.0.1:{port}\", prefix: {folder.Prefix} }}\n" + AdminApi.Yaml(crm));
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder(["--config", config, "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Critical"]);
        Assert.True(Relay.Hosting.RelayHostingExtensions.AddRelay(builder));
        await using var app = builder.Build();
        Relay.Hosting.RelayHostingExtensions.MapRelay(app);
        await app.StartAsync();
        using var admin = AdminApi.Client(new Uri(app.Urls.First()));

        var targets = await admin.GetAsync(new Uri("/admin/targets", UriKind.Relative));
        var replay = await admin.PostAsync(new Uri("/admin/events/evt_01JDXAMPLE7Q2Z4N0TTM5GC8WB_1/replay", UriKind.Relative), null);

        await AdminApi.ProblemAsync(targets, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("5", targets.Headers.GetValues("Retry-After").Single());
        await AdminApi.ProblemAsync(replay, HttpStatusCode.ServiceUnavailable);
        await app.StopAsync();
    }
}
