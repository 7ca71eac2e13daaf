using Microsoft.Playwright;
using Relay.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Relay.Tests.Admin.Console;

/// <summary>
/// The console in a real browser against a real relay, where an event did not reach a target: the operator sees why.
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
}
