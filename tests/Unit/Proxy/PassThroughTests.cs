using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Relay.Tests.Infrastructure;
using Relay.Tests.Ingress;

namespace Relay.Tests.Proxy;

/// <summary>Everything that is not a source path reaches the existing app unchanged; source paths always win.</summary>
public sealed class PassThroughTests
{
    private const string Secret = "proxy-secret";

    [Fact]
    public async Task PassThrough_OtherPaths_ReachAppWithHeadersBodyAndStatus()
    {
        await using var app = await FakeTarget.StartAsync();
        app.Respond = async (ctx, _) =>
        {
            ctx.Response.StatusCode = ctx.Request.Path == "/missing" ? 404 : 201;
            ctx.Response.Headers["X-App"] = "existing";
            await ctx.Response.WriteAsync($"app saw {ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}");
        };
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm);

        var request = new HttpRequestMessage(HttpMethod.Put, "/api/contracts/7?draft=1") { Content = new StringContent("{\"x\":1}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("X-Custom", "kept");
        var response = await relay.Client.SendAsync(request);
        var missing = await relay.Client.GetAsync(new Uri("/missing", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("existing", response.Headers.GetValues("X-App").Single());
        Assert.Equal("app saw PUT /api/contracts/7?draft=1", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var seen = app.Received[0];
        Assert.Equal("kept", seen.Header("X-Custom"));
        Assert.Equal("{\"x\":1}", seen.BodyText);
        Assert.StartsWith("application/json", seen.Header("Content-Type"));
    }

    [Fact]
    public async Task PassThrough_AppErrorsAndStreaming_PassUntouched()
    {
        await using var app = await FakeTarget.StartAsync();
        app.Respond = async (ctx, _) =>
        {
            if (ctx.Request.Path == "/stream")
            {
                for (var i = 0; i < 5; i++)
                {
                    await ctx.Response.WriteAsync($"chunk {i}\n");
                    await ctx.Response.Body.FlushAsync();
                    await Task.Delay(50);
                }

                return;
            }

            ctx.Response.StatusCode = 503;
            ctx.Response.Headers.RetryAfter = "7";
            await ctx.Response.WriteAsync("app is down");
        };
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm);

        var error = await relay.Client.GetAsync(new Uri("/health/app", UriKind.Relative));
        using var stream = await relay.Client.GetAsync(new Uri("/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var streamed = await stream.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal("7", error.Headers.GetValues("Retry-After").Single());
        Assert.Equal("app is down", await error.Content.ReadAsStringAsync());
        Assert.Equal(string.Concat(Enumerable.Range(0, 5).Select(i => $"chunk {i}\n")), streamed);
    }

    [Fact]
    public async Task PassThrough_SourcePath_HandledByRelayNotApp()
    {
        await using var app = await FakeTarget.StartAsync();
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(app, crm);

        var response = await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", Secret, Signing.YousignEvent("wins-1")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await crm.WaitForAsync(1);
        Assert.Empty(app.Received);
    }

    private static Task<RelayHost> StartAsync(FakeTarget app, FakeTarget crm) =>
        RelayHost.StartAsync(TestStore.Garnet, $"""
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm)}
            reverseProxy:
              routes:
                app: {"{"} clusterId: app, match: {"{"} path: "{"{"}**catch-all{"}"}" {"}"} {"}"}
              clusters:
                app: {"{"} destinations: {"{"} d1: {"{"} address: "{app.Url}" {"}"} {"}"} {"}"}
            """);
}
