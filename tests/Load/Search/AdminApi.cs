using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Relay.Load.Search;

/// <summary>One event of a listing, as <c>GET /admin/events</c> shows it; <c>Targets</c> maps target → state.</summary>
internal sealed record EventItem(string Id, string Source, string Type, DateTimeOffset ReceivedAt, IReadOnlyDictionary<string, string> Targets);

internal sealed record EventPage(IReadOnlyList<EventItem> Events, string? Next);

/// <summary>A target's queues as <c>GET /admin/targets</c> shows them.</summary>
internal sealed record TargetQueues(string Id, long Ready, long InFlight, long Retrying, long Dead, bool Paused)
{
    /// <summary>Events the relay still owes the target.</summary>
    public long Pending => Ready + InFlight + Retrying;
}

internal sealed record TargetQueueList(IReadOnlyList<TargetQueues> Targets);

/// <summary>A timed search: how long the answer took to arrive in full, and the page, or why there is none.</summary>
internal readonly record struct TimedPage(TimeSpan Elapsed, EventPage? Page, string? Failure);

/// <summary>
/// The relay's admin API as an operator's script calls it: over HTTP with the bearer key, nothing shared with the
/// relay's code. Searches are timed from sending the request to having read the whole answer.
/// </summary>
internal sealed class AdminApi : IDisposable
{
    /// <summary>The admin key the generated relay.yaml configures (at least 16 characters).</summary>
    public const string Key = "search-bench-admin-key-7f3a9c2e";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _client;

    public AdminApi(Uri relay)
    {
        _client = LoadClients.Create(relay);
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
    }

    public async Task PauseAsync(string target)
    {
        using var response = await _client.PostAsync(new Uri($"/admin/targets/{target}/pause", UriKind.Relative), null).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    public async Task<IReadOnlyList<TargetQueues>> TargetsAsync()
    {
        var text = await _client.GetStringAsync(new Uri("/admin/targets", UriKind.Relative)).ConfigureAwait(false);
        return JsonSerializer.Deserialize<TargetQueueList>(text, Json)?.Targets ?? [];
    }

    /// <summary><c>GET /admin/events?<paramref name="query"/></c>, timed; the answer is parsed after the clock stops.</summary>
    public async Task<TimedPage> SearchAsync(string query)
    {
        var started = Stopwatch.GetTimestamp();
        byte[] body;
        string? failure = null;
        try
        {
            using var response = await _client.GetAsync(new Uri("/admin/events?" + query, UriKind.Relative), HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
            body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                failure = $"HTTP {(int)response.StatusCode}";
            }
        }
        catch (HttpRequestException ex)
        {
            return new TimedPage(Stopwatch.GetElapsedTime(started), null, ex.HttpRequestError.ToString());
        }
        catch (TaskCanceledException)
        {
            return new TimedPage(Stopwatch.GetElapsedTime(started), null, "timeout");
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        if (failure is not null)
        {
            return new TimedPage(elapsed, null, failure + ": " + System.Text.Encoding.UTF8.GetString(body));
        }

        try
        {
            return JsonSerializer.Deserialize<EventPage>(body, Json) is { Events: not null } page
                ? new TimedPage(elapsed, page, null)
                : new TimedPage(elapsed, null, "no events list in the answer");
        }
        catch (JsonException ex)
        {
            return new TimedPage(elapsed, null, "unreadable answer: " + ex.Message);
        }
    }

    /// <summary>The body of one event as the relay stored it (<c>GET /admin/events/{id}</c>); null when not found.</summary>
    public async Task<string?> EventBodyAsync(string id)
    {
        using var response = await _client.GetAsync(new Uri("/admin/events/" + Uri.EscapeDataString(id), UriKind.Relative)).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var view = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
        return view.RootElement.TryGetProperty("body", out var body) ? body.GetString() : null;
    }

    public void Dispose() => _client.Dispose();
}
