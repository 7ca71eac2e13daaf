using System.Collections.Concurrent;
using Microsoft.Playwright;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin.Console;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>), headless, driven by Playwright, with a fresh profile per test, opened
/// on a test relay's console. Playwright never downloads a browser here. Without Chromium the test is skipped,
/// saying why; in CI (<c>CI=true</c>, where <c>.ci/run</c> installs it) it fails instead.
/// Records every URL the browser requested or navigated to, so a test can check the admin key was never in one.
/// </summary>
internal sealed class ConsoleBrowser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The width the README's screenshots are taken at.</summary>
    public const int Width = 1280;

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private readonly DirectoryInfo _profile;
    private readonly ConcurrentQueue<string> _urls = new();
    private readonly ConcurrentQueue<string> _consoleErrors = new();

    private ConsoleBrowser(IPlaywright playwright, DirectoryInfo profile, IBrowserContext context, IPage page, Uri relay)
    {
        _playwright = playwright;
        _profile = profile;
        Context = context;
        Page = page;
        Relay = relay;
        context.Request += (_, request) => _urls.Enqueue(request.Url);
        page.FrameNavigated += (_, frame) => _urls.Enqueue(frame.Url);
        page.Console += (_, message) =>
        {
            // A refused call (a wrong key's 401) is logged by Chromium as a failed resource: expected, not a script error.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                _consoleErrors.Enqueue(message.Text);
            }
        };
        page.PageError += (_, error) => _consoleErrors.Enqueue(error);
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public Uri Relay { get; }

    /// <summary>Every URL the browser asked for or navigated to so far.</summary>
    public IReadOnlyList<string> VisitedUrls => [.. _urls];

    /// <summary>Script errors and CSP violations ("Refused to ...") the page reported.</summary>
    public IReadOnlyList<string> ConsoleErrors => [.. _consoleErrors];

    public static async Task<ConsoleBrowser> StartAsync(Uri relay, int width = Width, int height = 900)
    {
        RequireChromium();
        var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("relay-chromium-");
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.FullName, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ChromiumArgs,
                ViewportSize = new ViewportSize { Width = width, Height = height },
                Locale = "en-US",
                TimezoneId = "UTC",
                BaseURL = relay.ToString(),
            });
            // The machine is shared with other tests: give pages and their assertions room.
            Assertions.SetDefaultExpectTimeout(15_000);
            context.SetDefaultTimeout(15_000);
            context.SetDefaultNavigationTimeout(15_000);
            var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
            return new ConsoleBrowser(playwright, profile, context, page, relay);
        }
        catch
        {
            playwright.Dispose();
            profile.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Skips the test when Chromium is missing, or fails it in CI, where it must run.</summary>
    public static void RequireChromium()
    {
        if (File.Exists(ChromiumPath))
        {
            return;
        }

        const string Why = ChromiumPath + " is not installed; install it (apt-get install chromium, as .ci/run does) to run the console's browser tests.";
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail(Why);
        }

        Assert.Skip(Why);
    }

    /// <summary>Opens the console, lands on the sign-in page, signs in with the keyboard, and waits for the overview.</summary>
    public async Task SignInAsync(string key = AdminApi.Key)
    {
        await Page.GotoAsync("/admin/ui/");
        await Assertions.Expect(Page).ToHaveURLAsync(new Uri(Relay, "/admin/ui/sign-in").ToString());
        await Page.GetByLabel("Admin key", new() { Exact = true }).FillAsync(key);
        await Page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();
    }

    /// <summary>Goes to a console route (<c>#/targets/crm</c>) and waits for its heading.</summary>
    public async Task OpenAsync(string route, string heading)
    {
        await Page.GotoAsync("/admin/ui/" + route);
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = heading, Level = 1 })).ToBeVisibleAsync();
    }

    /// <summary>
    /// A full-page PNG of the page. With RELAY_UPDATE_SCREENSHOTS=1 it goes to docs/console/ at the repository root,
    /// where the README shows it; otherwise beside the test output, so an ordinary run leaves the tree as it was.
    /// </summary>
    public async Task ScreenshotAsync(string name)
    {
        var folder = Environment.GetEnvironmentVariable("RELAY_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(Repository.Root(), "docs", "console")
            : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        await Page.ScreenshotAsync(new() { Path = Path.Combine(folder, name + ".png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });
    }

    /// <summary>The table row whose row header is exactly <paramref name="header"/> (a source, a target, a key).</summary>
    public static ILocator Row(ILocator scope, string header) =>
        scope.Locator("tbody tr").Filter(new() { Has = scope.Page.GetByRole(AriaRole.Rowheader, new() { Name = header, Exact = true }) });

    /// <summary>The key never in a URL the browser visited, and no script error or CSP violation on any page.</summary>
    public void AssertCleanSession()
    {
        Assert.NotEmpty(VisitedUrls);
        Assert.DoesNotContain(VisitedUrls, u => u.Contains(AdminApi.Key, StringComparison.Ordinal) || u.Contains(Uri.EscapeDataString(AdminApi.Key), StringComparison.Ordinal));
        Assert.Empty(ConsoleErrors);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Context.CloseAsync();
        }
        finally
        {
            _playwright.Dispose();
            try
            {
                _profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still be flushing its profile; the temp folder is cleaned with the machine.
            }
        }
    }
}
