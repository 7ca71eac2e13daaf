using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using Relay.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Relay.Tests.Admin.Console;

/// <summary>
/// The operator console in a real browser against a real relay: sign in, find a dead-lettered event, read why it
/// failed, fix the target and redrive, replay, pause and resume; the key never in a URL, no script error.
/// </summary>
public sealed class ConsoleBrowserTests
{
    [Fact]
    public async Task SignIn_WrongKeyThenRightKey_ErrorShownThenOverviewThenSignOut()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        await AdminApi.SendAsync(relay, "signin-1");
        using var admin = AdminApi.Client(relay);

        // Each replica flushes its per-minute counts to the store about once a second.
        await AdminApi.WaitForAsync(admin, "/admin/sources", s => s.GetProperty("sources").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "yousign").GetProperty("lastHour").GetProperty("accepted").GetInt64() == 1);
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;

        await page.GotoAsync("/admin/ui/");
        await Expect(page).ToHaveURLAsync(new Uri(relay.Client.BaseAddress!, "/admin/ui/sign-in").ToString());
        await Expect(page.Locator("form input:not([type=hidden])")).ToHaveCountAsync(1);
        var key = page.GetByLabel("Admin key", new() { Exact = true });
        await Expect(key).ToBeFocusedAsync();
        await key.FillAsync(AdminApi.Key + "-wrong");
        await page.Keyboard.PressAsync("Enter");

        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");
        await Expect(page).ToHaveURLAsync(new Uri(relay.Client.BaseAddress!, "/admin/ui/sign-in").ToString());
        Assert.DoesNotContain(AdminApi.Key, await page.ContentAsync(), StringComparison.Ordinal);

        await key.FillAsync(AdminApi.Key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "crm", Exact = true })).ToBeVisibleAsync();
        var yousign = ConsoleBrowser.Row(page.Locator("section[aria-labelledby=sources-heading]"), "yousign");
        await Expect(yousign.GetByRole(AriaRole.Cell).Nth(1)).ToHaveTextAsync("1");

        // Sources: kind, path and routes, with the last hour's counters.
        await page.GetByRole(AriaRole.Link, new() { Name = "Sources", Exact = true }).ClickAsync();
        var source = ConsoleBrowser.Row(page.Locator("main"), "yousign");
        await Expect(source).ToContainTextAsync("/hooks/yousign");
        await Expect(source).ToContainTextAsync("→ crm");
        await Expect(source.GetByRole(AriaRole.Cell).Nth(4)).ToHaveTextAsync("1");
        var cookies = await browser.Context.CookiesAsync();
        Assert.True(cookies.Single(c => c.Name == "relay_session").HttpOnly);
        Assert.False(cookies.Single(c => c.Name == "relay_csrf").HttpOnly);
        Assert.All(cookies, c => Assert.Equal(SameSiteAttribute.Strict, c.SameSite));

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Signed out");
        Assert.DoesNotContain(await browser.Context.CookiesAsync(), c => c.Name == "relay_session" && c.Value.Length > 0);
        await page.GotoAsync("/admin/ui/");
        await Expect(page).ToHaveURLAsync(new Uri(relay.Client.BaseAddress!, "/admin/ui/sign-in").ToString());

        browser.AssertCleanSession();
    }

    [Fact]
    public async Task Story_DeadLetterFoundBySearch_ErrorsRead_TargetFixedAndRedriven_Delivered()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        var repaired = false;
        crm.Respond = (ctx, number) =>
        {
            if (Volatile.Read(ref repaired))
            {
                ctx.Response.StatusCode = 200;
                return Task.CompletedTask;
            }

            // The first attempt of each event meets an outage (retried), the next a data error (dead at once).
            ctx.Response.StatusCode = ctx.Request.Headers["X-Relay-Attempt"] == "1" ? 503 : 400;
            return ctx.Response.WriteAsync("{\"error\":\"unknown customer\"}");
        };
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm, archive, schedule: "[1s]"));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "story-1", requestId: "sr-4711");
        await AdminApi.SendAsync(relay, "story-2", requestId: "sr-4712");
        await AdminApi.SendAsync(relay, "story-other", path: "/hooks/other");
        await AdminApi.SendAsync(relay, "story-1", requestId: "sr-4711");
        var forged = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", "not-the-secret", Signing.YousignEvent("forged-1")));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        await AdminApi.WaitForAsync(admin, "/admin/targets/crm/dead-letters", d => d.GetProperty("deadLetters").GetArrayLength() == 3);
        await AdminApi.WaitForAsync(admin, "/admin/overview", o =>
            o.GetProperty("targets").EnumerateArray().All(t => t.TryGetProperty("successRate", out _))
            && o.GetProperty("sources").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "yousign").GetProperty("totals") is var totals
            && totals.GetProperty("duplicate").GetInt64() == 1 && totals.GetProperty("unauthorized").GetInt64() == 1);
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();
        await Expect(ConsoleBrowser.Row(page.Locator("section[aria-labelledby=targets-heading]"), "crm")).ToContainTextAsync("0 %");
        await Expect(ConsoleBrowser.Row(page.Locator("section[aria-labelledby=sources-heading]"), "other")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("overview");

        // The vendor's own event id finds its event.
        await page.GetByRole(AriaRole.Link, new() { Name = "Events", Exact = true }).ClickAsync();
        await page.GetByLabel("Id", new() { Exact = true }).FillAsync("story-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.Locator("#event-results tbody tr")).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
        await Expect(page.GetByLabel("Id", new() { Exact = true })).ToBeEmptyAsync();

        // Find the dead-lettered events of one source by searching.
        await page.GetByLabel("Source", new() { Exact = true }).FillAsync("yousign");
        await page.GetByLabel("Target", new() { Exact = true }).FillAsync("crm");
        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync("dead");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var results = page.Locator("#event-results tbody tr");
        await Expect(results).ToHaveCountAsync(2);
        await Expect(results.First).ToContainTextAsync("crm: dead");

        // Read why: the timeline shows the outage, then the refusal; the state says it is dead and why.
        await results.First.GetByRole(AriaRole.Link).ClickAsync();
        var attempts = page.Locator("section[aria-labelledby=attempts-heading] tbody tr");
        await Expect(attempts.Filter(new() { HasText = "HTTP 503" })).ToHaveCountAsync(1);
        await Expect(attempts.Filter(new() { HasText = "HTTP 400" })).ToHaveCountAsync(1);
        var crmRow = page.Locator("section[aria-labelledby=targets-heading] tbody tr").Filter(new() { HasText = "crm" });
        await Expect(crmRow).ToContainTextAsync("dead");
        await Expect(crmRow).ToContainTextAsync("rejected: HTTP 400");
        await Expect(page.Locator("pre.body")).ToContainTextAsync("\"signature_request.done\"");
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "[redacted]" })).ToBeVisibleAsync();
        var eventUrl = page.Url;
        await browser.ScreenshotAsync("event");

        // Fix the target, then redrive from its page: one selected, then the rest.
        Volatile.Write(ref repaired, true);
        await crmRow.GetByRole(AriaRole.Link, new() { Name = "crm" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Target crm" })).ToBeVisibleAsync();
        var dead = page.Locator("section[aria-labelledby=dead-heading] tbody tr");
        await Expect(dead).ToHaveCountAsync(3);
        await Expect(dead.First).ToContainTextAsync("rejected: HTTP 400");
        await browser.ScreenshotAsync("target");
        await dead.Nth(1).GetByRole(AriaRole.Checkbox).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Redrive 1 selected" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1 dead letter of crm redriven");
        await Expect(dead).ToHaveCountAsync(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Redrive all" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("2 dead letters of crm redriven");
        await Expect(page.GetByText("No dead letters.")).ToBeVisibleAsync();

        // The event page follows the delivery by itself.
        await page.GotoAsync(eventUrl);
        await Expect(crmRow).ToContainTextAsync("delivered", new() { Timeout = 20_000 });
        await Expect(attempts.Filter(new() { HasText = "crm" }).Filter(new() { HasText = "HTTP 200" })).ToHaveCountAsync(1);
        await crm.WaitForAsync(9);
        browser.AssertCleanSession();
    }

    [Fact]
    public async Task Target_PauseTestEventResume_ThenPurgeAfterConfirming()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "crm", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Target crm" })).ToBeVisibleAsync();

        // Pause: the relay holds the test event back.
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause deliveries" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Target crm paused");
        Assert.True((await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets")[0].GetProperty("paused").GetBoolean());
        await page.GetByRole(AriaRole.Button, new() { Name = "Send a test event" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Test event evt_");
        await page.GetByRole(AriaRole.Link, new() { Name = "Open the test event" }).ClickAsync();
        var crmRow = page.Locator("section[aria-labelledby=targets-heading] tbody tr").Filter(new() { HasText = "crm" });
        await Expect(crmRow).ToContainTextAsync("paused");
        Assert.Empty(crm.Received);

        // Resume from the target page (keyboard only), reaching the button while the page still loads: the console
        // must not take the focus back to the heading when loading ends, or the operator's Enter is lost. The dead
        // letters, which the page loads last, are held back a second so that the page is surely still loading.
        var deadLetters = new Regex("/admin/targets/crm/dead-letters");
        var heldBack = 0;
        await page.RouteAsync(deadLetters, async route =>
        {
            Interlocked.Increment(ref heldBack);
            await Task.Delay(1000);
            await route.ContinueAsync();
        });
        await page.GoBackAsync();
        var resume = page.GetByRole(AriaRole.Button, new() { Name = "Resume deliveries" });
        await resume.FocusAsync();
        await Expect(page.GetByText("No dead letters.")).ToBeVisibleAsync();
        await page.UnrouteAsync(deadLetters);
        Assert.True(heldBack > 0, "the dead letters were not loaded after the button appeared");
        await Expect(resume).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Target crm resumed");
        await crm.WaitForAsync(1);
        await page.GoForwardAsync();
        await Expect(crmRow).ToContainTextAsync("delivered", new() { Timeout = 20_000 });

        // Purge asks first; Cancel keeps the dead letter, confirming drops it.
        crm.Respond = static (ctx, _) =>
        {
            ctx.Response.StatusCode = 410;
            return Task.CompletedTask;
        };
        await AdminApi.SendAsync(relay, "purge-me");
        await AdminApi.WaitForAsync(admin, "/admin/targets/crm/dead-letters", d => d.GetProperty("deadLetters").GetArrayLength() == 1);
        await browser.OpenAsync("#/targets/crm", "Target crm");
        await page.GetByRole(AriaRole.Button, new() { Name = "Purge all…" }).ClickAsync();
        var cancel = page.GetByRole(AriaRole.Button, new() { Name = "Cancel" });
        await Expect(cancel).ToBeFocusedAsync();
        await cancel.ClickAsync();
        await Expect(page.Locator("#purge-confirm")).ToBeEmptyAsync();
        Assert.Single((await AdminApi.GetAsync(admin, "/admin/targets/crm/dead-letters")).GetProperty("deadLetters").EnumerateArray());
        await page.GetByRole(AriaRole.Button, new() { Name = "Purge all…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Purge 1 dead letter", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1 dead letter of crm purged");
        await Expect(page.GetByText("No dead letters.")).ToBeVisibleAsync();
        Assert.Empty((await AdminApi.GetAsync(admin, "/admin/targets/crm/dead-letters")).GetProperty("deadLetters").EnumerateArray());
        browser.AssertCleanSession();
    }

    [Fact]
    public async Task Target_ReplayTimeRange_DryRunCountsThenConfirmReplays()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var admin = AdminApi.Client(relay);
        var from = DateTimeOffset.UtcNow.AddSeconds(-2);
        for (var i = 0; i < 3; i++)
        {
            await AdminApi.SendAsync(relay, $"range-{i}", requestId: $"sr-range-{i}");
        }

        await crm.WaitForAsync(3);
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();
        await browser.OpenAsync("#/targets/crm", "Target crm");

        await page.GetByLabel("From (UTC)").FillAsync(from.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        await page.GetByLabel("To (UTC)").FillAsync(DateTimeOffset.UtcNow.AddMinutes(1).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        await page.GetByRole(AriaRole.Button, new() { Name = "Count events (dry run)" }).ClickAsync();

        await Expect(page.Locator("#replay-count-text")).ToContainTextAsync("3 events received from");
        await Task.Delay(500);
        Assert.Equal(3, crm.Received.Count);
        await page.GetByRole(AriaRole.Button, new() { Name = "Replay 3 events" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("3 events replayed to crm");
        var received = await crm.WaitForAsync(6);
        Assert.Equal(received.Take(3).Select(r => r.Header("webhook-id")).Order(), received.Skip(3).Select(r => r.Header("webhook-id")).Order());
        browser.AssertCleanSession();
    }

    [Fact]
    public async Task Event_ReplayToChosenTarget_OnlyThatTargetGetsItAgain()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var archive = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm, archive));
        using var admin = AdminApi.Client(relay);
        await AdminApi.SendAsync(relay, "replay-1");
        var id = await AdminApi.OnlyEventIdAsync(admin);
        await AdminApi.WaitForAsync(admin, $"/admin/events/{id}", e => AdminApi.State(e, "crm") == "delivered" && AdminApi.State(e, "archive") == "delivered");
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!);
        var page = browser.Page;
        await browser.SignInAsync();

        await browser.OpenAsync($"#/events/{id}", $"Event {id}");
        var replaySelected = page.GetByRole(AriaRole.Button, new() { Name = "Replay to selected targets" });
        await Expect(replaySelected).ToBeDisabledAsync();
        await page.GetByLabel("Replay to archive").CheckAsync();
        await replaySelected.ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("archive queued");
        await archive.WaitForAsync(2);
        var attempts = page.Locator("section[aria-labelledby=attempts-heading] tbody tr");
        await Expect(attempts.Filter(new() { HasText = "archive" })).ToHaveCountAsync(2, new() { Timeout = 20_000 });
        await Task.Delay(500);
        Assert.Single(crm.Received);
        browser.AssertCleanSession();
    }

    [Fact]
    public async Task PhoneWidth_PagesFitTheScreenAndStayUsable()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        await AdminApi.SendAsync(relay, "phone-1");
        await using var browser = await ConsoleBrowser.StartAsync(relay.Client.BaseAddress!, width: 390, height: 844);
        var page = browser.Page;

        await browser.SignInAsync();
        foreach (var (route, heading) in new[] { ("#/overview", "Overview"), ("#/events", "Events"), ("#/targets/crm", "Target crm"), ("#/targets", "Targets") })
        {
            await browser.OpenAsync(route, heading);

            // Wide tables scroll inside their own box; the page itself never scrolls sideways.
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), $"{route} is wider than the screen");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Events", Exact = true })).ToBeInViewportAsync();
        }

        await browser.OpenAsync("#/events", "Events");
        await page.GetByLabel("Source", new() { Exact = true }).FillAsync("yousign");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.Locator("#event-results tbody tr")).ToHaveCountAsync(1);
        browser.AssertCleanSession();
    }
}
