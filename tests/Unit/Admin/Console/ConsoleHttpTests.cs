using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Relay.Admin.Console;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Admin.Console;

/// <summary>
/// The console's session and security over plain HTTP, as a browser or an attacker's page would speak it: cookies and
/// their flags, CSRF, Origin, the CSP on every response, what happens with no key configured or a key removed.
/// </summary>
public sealed partial class ConsoleHttpTests
{
    [Fact]
    public async Task SignIn_RightKey_HttpOnlyStrictSessionCookieAndReadableCsrfCookie()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var browser = Browser(relay);

        var response = await SignInAsync(browser, AdminApi.Key);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var setCookies = response.Headers.GetValues("Set-Cookie").ToArray();
        var session = Assert.Single(setCookies, c => c.StartsWith("relay_session=v1.", StringComparison.Ordinal));
        var csrf = Assert.Single(setCookies, c => c.StartsWith("relay_csrf=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("httponly", csrf, StringComparison.OrdinalIgnoreCase);
        Assert.All(setCookies, c =>
        {
            Assert.Contains("samesite=strict", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("path=/admin", c, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(AdminApi.Key, c, StringComparison.Ordinal);
        });

        // A plain form post (no script) is redirected to the console.
        using var form = Browser(relay);
        var posted = await SignInAsync(form, AdminApi.Key, json: false);
        Assert.Equal(HttpStatusCode.SeeOther, posted.StatusCode);
        Assert.Equal("/admin/ui/", posted.Headers.Location?.ToString());
    }

    [Fact]
    public async Task SignIn_WrongKey_401SayingSoWithoutTheKeyInAnswerOrLogs()
    {
        await using var crm = await FakeTarget.StartAsync();
        var logs = new CapturedLogs();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm), configure: logs.AttachTo);
        using var browser = Browser(relay);
        const string Wrong = "wrong-key-planted-0123456789";

        var json = await SignInAsync(browser, Wrong);
        var page = await SignInAsync(browser, Wrong, json: false);
        var right = await SignInAsync(browser, AdminApi.Key);

        Assert.Contains("not valid", await AdminApi.ProblemAsync(json, HttpStatusCode.Unauthorized), StringComparison.Ordinal);
        Assert.False(json.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("That admin key is not valid", html, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, right.StatusCode);
        var token = Cookie(right, ConsoleSession.CookieName);
        Assert.Contains("signed in with admin key " + ConsoleSession.KeyId(AdminApi.Key), logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminApi.Key, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(token, logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_FromAnotherOriginTooLargeOrNotAForm_Refused()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var browser = Browser(relay);

        var crossSite = await SignInAsync(browser, AdminApi.Key, origin: "https://evil.example");
        var nullOrigin = await SignInAsync(browser, AdminApi.Key, origin: "null");
        var large = await browser.PostAsync(new Uri("/admin/ui/session", UriKind.Relative), new FormUrlEncodedContent([new("key", AdminApi.Key), new("pad", new string('x', 8000))]));
        var asJson = await browser.PostAsync(new Uri("/admin/ui/session", UriKind.Relative), new StringContent($"{{\"key\":\"{AdminApi.Key}\"}}", Encoding.UTF8, "application/json"));
        var inQuery = await browser.PostAsync(new Uri("/admin/ui/session?key=" + AdminApi.Key, UriKind.Relative), new FormUrlEncodedContent([]));

        await AdminApi.ProblemAsync(crossSite, HttpStatusCode.Forbidden);
        await AdminApi.ProblemAsync(nullOrigin, HttpStatusCode.Forbidden);
        await AdminApi.ProblemAsync(large, HttpStatusCode.RequestEntityTooLarge);
        await AdminApi.ProblemAsync(asJson, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, inQuery.StatusCode);
        Assert.All(new[] { crossSite, nullOrigin, large, asJson, inQuery }, r => Assert.False(r.Headers.Contains("Set-Cookie")));
    }

    [Fact]
    public async Task CookieSession_UnsafeCallNeedsCsrfHeader_SafeCallDoesNot_NoSessionIs401()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var browser = Browser(relay);
        var signedIn = await SignInAsync(browser, AdminApi.Key);
        var csrf = Cookie(signedIn, ConsoleSession.CsrfCookieName);
        using var anonymous = Browser(relay);

        var read = await browser.GetAsync(new Uri("/admin/targets", UriKind.Relative));
        var noHeader = await browser.PostAsync(new Uri("/admin/targets/crm/pause", UriKind.Relative), null);
        var wrongHeader = await Send(browser, HttpMethod.Post, "/admin/targets/crm/pause", csrf: csrf[..^2] + "xx");
        var purgeNoHeader = await browser.DeleteAsync(new Uri("/admin/targets/crm/dead-letters", UriKind.Relative));
        var otherOrigin = await Send(browser, HttpMethod.Post, "/admin/targets/crm/pause", csrf: csrf, origin: "https://evil.example");
        var noSession = await Send(anonymous, HttpMethod.Post, "/admin/targets/crm/pause", csrf: csrf);
        using var raw = AdminApi.Client(relay, key: null);
        var forged = await Send(raw, HttpMethod.Get, "/admin/targets", cookie: $"{ConsoleSession.CookieName}=v1.00000000.9999999999.AAAA.AAAA");

        await AdminApi.JsonAsync(read, HttpStatusCode.OK);
        Assert.Contains(ConsoleSession.CsrfHeader, await AdminApi.ProblemAsync(noHeader, HttpStatusCode.Forbidden), StringComparison.Ordinal);
        await AdminApi.ProblemAsync(wrongHeader, HttpStatusCode.Forbidden);
        await AdminApi.ProblemAsync(purgeNoHeader, HttpStatusCode.Forbidden);
        await AdminApi.ProblemAsync(otherOrigin, HttpStatusCode.Forbidden);
        await AdminApi.ProblemAsync(noSession, HttpStatusCode.Unauthorized);
        await AdminApi.ProblemAsync(forged, HttpStatusCode.Unauthorized);
        using var admin = AdminApi.Client(relay);
        Assert.False((await AdminApi.GetAsync(admin, "/admin/targets")).GetProperty("targets")[0].GetProperty("paused").GetBoolean());

        var paused = await Send(browser, HttpMethod.Post, "/admin/targets/crm/pause", csrf: csrf, origin: relay.Client.BaseAddress!.GetLeftPart(UriPartial.Authority));

        Assert.True((await AdminApi.JsonAsync(paused, HttpStatusCode.OK)).GetProperty("paused").GetBoolean());

        // A bearer key is not an ambient credential: no CSRF header needed, as before.
        Assert.False((await AdminApi.PostAsync(admin, "/admin/targets/crm/resume")).GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task Session_KeyRemovedByReload_SessionEndsAtOnce()
    {
        await using var crm = await FakeTarget.StartAsync();
        var store = TestStore.Garnet;
        await using var relay = await RelayHost.StartAsync(store, AdminApi.Yaml(crm));
        using var browser = Browser(relay);
        await SignInAsync(browser, AdminApi.Key);
        await AdminApi.JsonAsync(await browser.GetAsync(new Uri("/admin/targets", UriKind.Relative)), HttpStatusCode.OK);

        await relay.RewriteConfigAsync(store, AdminApi.Yaml(crm).Replace(AdminApi.Key, "rotated-admin-key-9876543210", StringComparison.Ordinal));

        await AdminApi.ProblemAsync(await browser.GetAsync(new Uri("/admin/targets", UriKind.Relative)), HttpStatusCode.Unauthorized);
        var index = await browser.GetAsync(new Uri("/admin/ui/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Found, index.StatusCode);
        Assert.Equal("/admin/ui/sign-in", index.Headers.Location?.ToString());
    }

    [Fact]
    public async Task SignOut_NeedsCsrf_ThenClearsBothCookies()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var browser = Browser(relay);
        var csrf = Cookie(await SignInAsync(browser, AdminApi.Key), ConsoleSession.CsrfCookieName);

        var withoutHeader = await browser.PostAsync(new Uri("/admin/ui/session/sign-out", UriKind.Relative), null);
        var signedOut = await Send(browser, HttpMethod.Post, "/admin/ui/session/sign-out", csrf: csrf);

        await AdminApi.ProblemAsync(withoutHeader, HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.NoContent, signedOut.StatusCode);
        var cleared = signedOut.Headers.GetValues("Set-Cookie").ToArray();
        Assert.Contains(cleared, c => c.StartsWith("relay_session=;", StringComparison.Ordinal) && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.Ordinal));
        Assert.Contains(cleared, c => c.StartsWith("relay_csrf=;", StringComparison.Ordinal) && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.Ordinal));
        await AdminApi.ProblemAsync(await browser.GetAsync(new Uri("/admin/targets", UriKind.Relative)), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Pages_WithoutSessionRedirectToSignIn_WithSessionServed()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var browser = Browser(relay);

        var bare = await browser.GetAsync(new Uri("/admin/ui", UriKind.Relative));
        var index = await browser.GetAsync(new Uri("/admin/ui/", UriKind.Relative));
        var signIn = await browser.GetAsync(new Uri("/admin/ui/sign-in", UriKind.Relative));
        await SignInAsync(browser, AdminApi.Key);
        var signedIn = await browser.GetAsync(new Uri("/admin/ui/", UriKind.Relative));
        var signInAgain = await browser.GetAsync(new Uri("/admin/ui/sign-in", UriKind.Relative));

        Assert.Equal("/admin/ui/", bare.Headers.Location?.ToString());
        Assert.Equal("/admin/ui/sign-in", index.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var form = await signIn.Content.ReadAsStringAsync();
        Assert.Single(InputTag().Matches(form));
        Assert.Contains("<label for=\"key\">Admin key</label>", form, StringComparison.Ordinal);
        Assert.Contains("method=\"post\"", form, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Contains("console.js", await signedIn.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("/admin/ui/", signInAgain.Headers.Location?.ToString());
    }

    [Fact]
    public async Task EveryConsoleResponse_StrictCspNosniffNoReferrer_PagesNotCached()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm));
        using var browser = Browser(relay);
        var responses = new List<HttpResponseMessage>
        {
            await browser.GetAsync(new Uri("/admin/ui/", UriKind.Relative)),
            await browser.GetAsync(new Uri("/admin/ui/sign-in", UriKind.Relative)),
            await browser.GetAsync(new Uri("/admin/ui/console.js", UriKind.Relative)),
            await browser.GetAsync(new Uri("/admin/ui/console.css", UriKind.Relative)),
            await browser.GetAsync(new Uri("/admin/ui/nope.js", UriKind.Relative)),
            await browser.GetAsync(new Uri("/admin/ui/index.html", UriKind.Relative)),
            await SignInAsync(browser, "wrong-key-0123456789", json: false),
            await SignInAsync(browser, AdminApi.Key),
            await browser.GetAsync(new Uri("/admin/ui/", UriKind.Relative)),
        };

        Assert.All(responses, r =>
        {
            var csp = r.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Equal(ConsoleEndpoints.ContentSecurityPolicy, csp);
            Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", r.Headers.GetValues("Referrer-Policy").Single());
        });
        Assert.Equal("no-store", responses[^1].Headers.CacheControl?.ToString());
        Assert.Equal("no-store", responses[1].Headers.CacheControl?.ToString());
        Assert.Equal("text/javascript", responses[2].Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, responses[4].StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, responses[5].StatusCode);

        // Scripts and styles revalidate by ETag.
        var again = new HttpRequestMessage(HttpMethod.Get, "/admin/ui/console.js");
        again.Headers.IfNoneMatch.Add(responses[2].Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await browser.SendAsync(again)).StatusCode);
    }

    [Fact]
    public async Task NoAdminKeys_Console404LikeTheApi()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm).Replace($"apiKeys: [\"{AdminApi.Key}\"]", "apiKeys: []", StringComparison.Ordinal));
        using var browser = Browser(relay);

        foreach (var path in new[] { "/admin/ui/", "/admin/ui", "/admin/ui/sign-in", "/admin/ui/console.js" })
        {
            var response = await browser.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Contains("admin.apiKeys", await AdminApi.ProblemAsync(response, HttpStatusCode.NotFound), StringComparison.Ordinal);
            Assert.True(response.Headers.Contains("Content-Security-Policy"));
        }

        await AdminApi.ProblemAsync(await SignInAsync(browser, AdminApi.Key), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AdminUrlsSet_ConsoleOnTheAdminPortOnly()
    {
        await using var crm = await FakeTarget.StartAsync();
        var port = AdminApi.FreePort();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, AdminApi.Yaml(crm, adminExtra: $"  urls: \"http://127.0.0.1:{port}\"\n"));
        using var onWebhookPort = Browser(relay);
        using var onAdminPort = Browser(new Uri($"http://127.0.0.1:{port}/"));

        await AdminApi.ProblemAsync(await onWebhookPort.GetAsync(new Uri("/admin/ui/sign-in", UriKind.Relative)), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await onAdminPort.GetAsync(new Uri("/admin/ui/sign-in", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await SignInAsync(onAdminPort, AdminApi.Key)).StatusCode);
    }

    [Fact]
    public void Assets_NoInlineScriptOrStyle_NoMarkupBuiltFromStrings()
    {
        var files = ConsoleAssets.Files;
        Assert.Contains("index.html", files.Keys);
        Assert.Contains("sign-in.html", files.Keys);
        foreach (var (name, asset) in files)
        {
            var text = Encoding.UTF8.GetString(asset.Bytes);
            if (asset.IsPage)
            {
                Assert.DoesNotMatch(InlineScript(), text);
                Assert.DoesNotContain("<style", text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotMatch(InlineAttribute(), text);
                Assert.DoesNotContain("=\"javascript:", text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotMatch(ForeignUrl(), text);
            }
            else if (name.EndsWith(".js", StringComparison.Ordinal))
            {
                foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'" })
                {
                    Assert.False(text.Contains(sink, StringComparison.Ordinal), $"{name} uses {sink}");
                }

                Assert.DoesNotMatch(ForeignUrl(), text);
            }
        }
    }

    private static HttpClient Browser(RelayHost relay) => Browser(relay.Client.BaseAddress!);

    /// <summary>A client that keeps cookies and does not follow redirects, as the tests read them.</summary>
    private static HttpClient Browser(Uri baseAddress) =>
        new(new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string key, bool json = true, string? origin = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/ui/session") { Content = new FormUrlEncodedContent([new("key", key)]) };
        request.Headers.Accept.ParseAdd(json ? "application/json" : "text/html");
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, string? csrf = null, string? origin = null, string? cookie = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (csrf is not null)
        {
            request.Headers.Add(ConsoleSession.CsrfHeader, csrf);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        return client.SendAsync(request);
    }

    private static string Cookie(HttpResponseMessage response, string name)
    {
        var header = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(name + "=", StringComparison.Ordinal));
        return header[(name.Length + 1)..header.IndexOf(';', StringComparison.Ordinal)];
    }

    [GeneratedRegex("<input\\b", RegexOptions.IgnoreCase)]
    private static partial Regex InputTag();

    [GeneratedRegex("<script(?![^>]*\\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex("\\s(style|on[a-z]+)\\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineAttribute();

    [GeneratedRegex("(src|href)=\"(https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex ForeignUrl();
}
