using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Relay.Tests.Infrastructure;
using Relay.Tests.Ingress;

namespace Relay.Tests.Admin;

/// <summary>Calls to the admin API of a test relay, and the config that enables it.</summary>
internal static class AdminApi
{
    public const string Key = "admin-key-for-tests-0123456789";
    public const string Secret = "admin-test-yousign-secret";

    /// <summary>A relay with the yousign source routed to crm (and archive when given), admin enabled with <see cref="Key"/>.</summary>
    public static string Yaml(FakeTarget crm, FakeTarget? archive = null, string schedule = "[1s, 2s]", string adminExtra = "") => $"""
        admin:
          apiKeys: ["{Key}"]
        {adminExtra}sources:
          yousign:
            kind: yousign
            path: /hooks/yousign
            secret: {Secret}
            routes: [{"{"} target: crm {"}"}{(archive is null ? "" : ", { target: archive }")}]
          other:
            kind: yousign
            path: /hooks/other
            secret: {Secret}
            routes: [{"{"} target: crm {"}"}]
        targets:
          crm: {TestYaml.Target(crm, schedule)}
        {(archive is null ? "" : $"  archive: {TestYaml.Target(archive)}\n")}
        """;

    public static HttpClient Client(RelayHost relay, string? key = Key) => Client(relay.Client.BaseAddress!, key);

    public static HttpClient Client(Uri baseAddress, string? key = Key)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Sends a signed yousign event and returns once it is acknowledged.</summary>
    public static async Task SendAsync(RelayHost relay, string eventId, string path = "/hooks/yousign", string? requestId = null)
    {
        var response = await relay.Client.SendAsync(Signing.YousignRequest(path, Secret, Signing.YousignEvent(eventId, requestId: requestId ?? "sr-1")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static async Task<JsonElement> GetAsync(HttpClient admin, string path) => await JsonAsync(await admin.GetAsync(new Uri(path, UriKind.Relative)), HttpStatusCode.OK);

    public static async Task<JsonElement> PostAsync(HttpClient admin, string path, HttpStatusCode expected = HttpStatusCode.OK, string? json = null) =>
        await JsonAsync(await admin.PostAsync(new Uri(path, UriKind.Relative), json is null ? null : new StringContent(json, System.Text.Encoding.UTF8, "application/json")), expected);

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts an RFC 9457 problem response with the given status, and returns its detail.</summary>
    public static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var problem = await JsonAsync(response, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("type").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem.GetProperty("detail").GetString()!;
    }

    /// <summary>Polls a GET until <paramref name="until"/> holds (deliveries are asynchronous).</summary>
    public static async Task<JsonElement> WaitForAsync(HttpClient admin, string path, Func<JsonElement, bool> until)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        var last = await GetAsync(admin, path);
        while (!until(last))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"GET {path} never reached the expected state; last: {last}");
            await Task.Delay(100);
            last = await GetAsync(admin, path);
        }

        return last;
    }

    public static string State(JsonElement e, string target) => e.GetProperty("targets").GetProperty(target) is var t && t.ValueKind == JsonValueKind.String
        ? t.GetString()!
        : t.GetProperty("state").GetString()!;

    /// <summary>The one event the relay holds, once it exists.</summary>
    public static async Task<string> OnlyEventIdAsync(HttpClient admin)
    {
        var list = await WaitForAsync(admin, "/admin/events", l => l.GetProperty("events").GetArrayLength() > 0);
        return Assert.Single(list.GetProperty("events").EnumerateArray()).GetProperty("id").GetString()!;
    }

    public static int FreePort() => LoopbackServer.FreePort();
}
