using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using Relay.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Relay.Tests.Admin.Console;

/// <summary>
/// The console in a real browser against a real relay, where an event did not reach a target: a route that did not
/// match it, an ordering key held behind a dead letter. The operator sees why and gets the events delivered.
/// </summary>
public sealed class ConsoleDeliveryProblemsBrowserTests
{
    [Fact]
    public async Task Event_RouteThatDidNotMatch_ShownWithWhy()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $$"""
            admin:
              apiKeys: ["{{AdminApi.Key}}"]
            sources:
              yousign: { kind: yousign, path: /hooks/yousign, secret: {{AdminApi.Secret}}, routes: [{ target: crm, events: ["signer.*"] }, { target: archive }] }
            targets:
              crm: {{TestYaml.Target(crm)}}
              archive: {{TestYaml.Target(archive)}}
            """);
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "done-1");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        await archive.WaitForAsync(1);
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();

        await browser.OpenAsync($"#/events/{id}", $"Event {id}");

        var routes = page.Locator("section[aria-labelledby=routes-heading] tbody tr");
        await Expect(routes).ToHaveCountAsync(2);
        await Expect(routes.Nth(0).GetByRole(AriaRole.Cell)).ToHaveTextAsync(["crm", "no", "its type matched none of the route's events patterns", ""]);
        await Expect(routes.Nth(1).GetByRole(AriaRole.Cell)).ToHaveTextAsync(["archive", "yes", "matched", ""]);
        Assert.Empty(crm.Received);
        browser.AssertCleanSession();
    }

    [Fact]
    public async Task Target_BlockedKeyShownWithWaitingEvents_RedriveDeliversItThenTheRestInOrder()
    {
        // The ordering key is the vendor's data: shown as text, never read as markup.
        const string Key = "<b>sr-A</b>";
        await using var crm = await FakeTarget.StartAsync();
        var accepting = false;
        var delivered = new ConcurrentQueue<string>();
        crm.Respond = async (ctx, _) =>
        {
            var eventId = JsonDocument.Parse(await new StreamReader(ctx.Request.Body).ReadToEndAsync()).RootElement.GetProperty("event_id").GetString()!;
            var accept = Volatile.Read(ref accepting) || eventId != "A1";
            ctx.Response.StatusCode = accept ? 200 : 410;
            if (accept)
            {
                delivered.Enqueue(eventId);
            }
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, $$"""
            admin:
              apiKeys: ["{{AdminApi.Key}}"]
            sources:
              yousign: { kind: yousign, path: /hooks/yousign, secret: {{AdminApi.Secret}}, routes: [{ target: crm }] }
            targets:
              crm:
                url: "{{crm.Url}}hook"
                ordering: key
                onDeadLetter: block
                retry: { schedule: [300ms], jitter: 0 }
            """);
        using var admin = AdminApi.Client(relay);
        foreach (var (eventId, key) in new[] { ("A1", Key), ("A2", Key), ("B1", "sr-B"), ("A3", Key) })
        {
            var response = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", AdminApi.Secret, Signing.YousignEvent(eventId, requestId: key)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var blocked = await AdminApi.WaitForAsync(admin, "/admin/targets/crm/blocked", b => b.GetProperty("blocked").GetArrayLength() == 1);
        var holder = blocked.GetProperty("blocked")[0].GetProperty("eventId").GetString()!;
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();
        await browser.OpenAsync("#/targets/crm", "Target crm");

        var section = page.Locator("section[aria-labelledby=blocked-heading]");
        var row = ConsoleBrowser.Row(section, Key);
        await Expect(row.GetByRole(AriaRole.Link)).ToHaveTextAsync(holder);
        await Expect(row.GetByRole(AriaRole.Cell).Nth(2)).ToHaveTextAsync("rejected: HTTP 410");
        await Expect(row.GetByRole(AriaRole.Cell).Nth(3)).ToHaveTextAsync("2");
        Assert.Equal(["B1"], delivered);

        Volatile.Write(ref accepting, true);
        await row.GetByRole(AriaRole.Button, new() { Name = "Redrive" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Dead letter {holder} redriven");
        await Expect(section.GetByText("No key is blocked.")).ToBeVisibleAsync();
        await Expect(page.GetByText("No dead letters.")).ToBeVisibleAsync();
        await AdminApi.WaitForAsync(admin, "/admin/targets", t => t.GetProperty("targets")[0].GetProperty("ready").GetInt64() == 0 && delivered.Count == 4);
        Assert.Equal(["B1", "A1", "A2", "A3"], delivered);
        browser.AssertCleanSession();
    }
}
