using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Relay.Tests.Dispatch;
using Relay.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Relay.Tests.Admin.Console;

/// <summary>
/// The console in a real browser against a real relay, where an event did not reach a target: a route that did not
/// match it, an ordering key held behind a dead letter, a removed target's queue. The operator sees why and gets the
/// events delivered.
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
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, OrderedDeliveryTests.Yaml(crm, onDeadLetter: "block"));
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

    [Fact]
    public async Task Orphan_WarnedOnOverview_MovedToTheRenamedTargetAfterConfirming_AStalePageSaysWhyItCannotPurge()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var renamed = await FakeTarget.StartAsync();

        // archive is renamed archive2: crm delivered its three events long ago, archive still owes them.
        await using var relay = await AdminOrphansTests.StrandArchiveAsync(TestStore.Garnet, crm, archive, $"  archive2: {TestYaml.Target(renamed)}\n");
        using var admin = AdminApi.Client(relay);
        await AdminApi.WaitForAsync(admin, "/admin/orphans", l => l.GetProperty("orphans").GetArrayLength() == 1);
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();

        var warning = page.Locator("section[aria-labelledby=orphans-heading]");
        await Expect(warning).ToContainTextAsync("archive (3 events)");
        await warning.GetByRole(AriaRole.Link, new() { Name = "Move or purge them" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Targets", Level = 1 })).ToBeVisibleAsync();
        var orphan = ConsoleBrowser.Row(page.Locator("section[aria-labelledby=orphans-heading]"), "archive");
        await Expect(orphan.GetByRole(AriaRole.Cell)).ToHaveCountAsync(5);
        await Expect(orphan.GetByRole(AriaRole.Cell).Nth(2)).ToHaveTextAsync("2");
        await Expect(orphan.GetByRole(AriaRole.Cell).Nth(3)).ToHaveTextAsync("1");

        // A second operator's page, opened now, will be out of date once the first has moved the events.
        var stale = await browser.Context.NewPageAsync();
        await stale.GotoAsync("/admin/ui/#/targets");
        await Expect(ConsoleBrowser.Row(stale.Locator("section[aria-labelledby=orphans-heading]"), "archive")).ToBeVisibleAsync();

        var move = orphan.GetByRole(AriaRole.Button, new() { Name = "Move…" });
        await Expect(move).ToBeDisabledAsync();
        var choice = page.GetByLabel("Where archive's events go");
        await Expect(choice.Locator("option")).ToHaveTextAsync(["Move to…", "archive2", "crm"]);
        await choice.SelectOptionAsync("archive2");
        await move.ClickAsync();
        await Expect(page.Locator("#orphan-question")).ToHaveTextAsync(new Regex("^Move the 3 events archive still owes to archive2\\?"));
        await Task.Delay(300);
        await browser.ScreenshotAsync("targets");
        Assert.Empty(renamed.Received);
        await page.GetByRole(AriaRole.Button, new() { Name = "Move 3 events to archive2" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("3 events of archive moved to archive2.");
        await Expect(page.Locator("section[aria-labelledby=orphans-heading]")).ToHaveCountAsync(0);
        var received = await renamed.WaitForAsync(2);
        Assert.Equal(["retry-1", "retry-2"], received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("event_id").GetString()).Order());
        await Expect(ConsoleBrowser.Row(page.Locator("main"), "archive2").GetByRole(AriaRole.Cell).Nth(3)).ToHaveTextAsync("1");

        // The stale page asks the relay, shows why it refused, and drops the row.
        await ConsoleBrowser.Row(stale.Locator("section[aria-labelledby=orphans-heading]"), "archive").GetByRole(AriaRole.Button, new() { Name = "Purge…" }).ClickAsync();
        await stale.GetByRole(AriaRole.Button, new() { Name = "Purge 3 events" }).ClickAsync();
        await Expect(stale.GetByRole(AriaRole.Alert)).ToHaveTextAsync("No orphaned queue: No removed target 'archive' holds events; GET /admin/orphans lists those that do.");
        await Expect(stale.Locator("section[aria-labelledby=orphans-heading]")).ToHaveCountAsync(0);
        Assert.Equal("moved from archive", Assert.Single((await AdminApi.GetAsync(admin, "/admin/targets/archive2/dead-letters")).GetProperty("deadLetters").EnumerateArray()).GetProperty("reason").GetString());
        browser.AssertCleanSession();
    }
}
