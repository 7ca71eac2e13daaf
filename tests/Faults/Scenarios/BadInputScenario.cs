using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Relay.Tests.Infrastructure;

namespace Relay.Faults.Scenarios;

/// <summary>
/// A barrage of bad input while legitimate callbacks flow: malformed and invalid-UTF-8 bodies (signed, so they reach
/// the parser), bad signatures, oversized bodies (with and without Content-Length), oversized and too many headers,
/// deeply nested JSON, forms with 200,000 fields, and 300 slowloris sockets (150 trickling headers, 150 trickling a
/// body), 50 bad requests a second in all. The relay must stay up, ack the legitimate callbacks with p99 under 1 s and deliver them, and answer every bad
/// request with a 4xx or cut its connection (which counts as handled).
/// </summary>
internal sealed class BadInputScenario : IFaultScenario
{
    private const int SlowSockets = 300;
    /// <summary>Bad requests per second, all kinds in turn, sent whether or not earlier ones were answered.</summary>
    private const double BarrageRate = 50;
    private static readonly TimeSpan MaxLegitimateP99 = TimeSpan.FromSeconds(1);

    public string Name => "bad-input";

    public bool NeedsRedis => false;

    public async Task RunAsync(FaultSettings settings, Verdict verdict)
    {
        await using var rig = await Rig.StartAsync(settings, Name, "crm");
        var relay = await rig.StartRelayAsync(rig.WriteConfig(rig.EmbeddedStore(), forms: true));
        var destination = new Destination("relay", relay.Url);
        using var vendor = new Vendor(rig.Ledger, Name);

        // Long enough for the relay's header timeout (10 s) to cut the slowloris sockets while the load still runs.
        var load = settings.Load < TimeSpan.FromSeconds(15) ? TimeSpan.FromSeconds(15) : settings.Load;
        var rate = settings.Rate / 2;
        using var barrage = new Barrage(relay.Url);

        // What each kind of bad request costs on an otherwise idle relay, one at a time: the barrage's weight.
        rig.Say("each bad request alone, on an idle relay (median of 3): " + await barrage.CalibrateAsync());
        var cpuBefore = relay.Process.CpuTime();

        using var stop = new CancellationTokenSource();
        var rss = SampleMemoryAsync(relay.Process, stop.Token);
        var slow = Enumerable.Range(0, SlowSockets).Select(i => SlowlorisAsync(relay.Url, trickleBody: i % 2 == 1)).ToList();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"{SlowSockets} slowloris sockets open; legitimate load {rate:0} events/s and bad requests {BarrageRate:0}/s for {load.TotalSeconds:0} s"));
        var bad = barrage.RunAsync(BarrageRate, stop.Token);

        var stats = await vendor.RunAsync(rate, load, () => destination);
        await stop.CancelAsync();
        await bad;
        var cpu = relay.Process.CpuTime() - cpuBefore;
        rig.Say("legitimate load: " + stats.Line());
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"the relay used {cpu?.TotalSeconds:0.0} CPU-seconds in those {load.TotalSeconds:0} s (the machine has {Environment.ProcessorCount} cores; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})"));
        rig.Say("bad requests: " + barrage.Line());

        // Slowloris sockets still open get until 15 s after the load to be cut (the header timeout is 10 s).
        var cutBy = Task.WhenAll(slow);
        await Task.WhenAny(cutBy, Task.Delay(TimeSpan.FromSeconds(15)));
        var sockets = slow.Where(s => s.IsCompletedSuccessfully).Select(s => s.Result).ToList();
        var handled = sockets.Count(s => s.Handled);
        rig.Say($"slowloris: {handled} of {SlowSockets} cut or refused by the relay ({Describe(sockets)})");

        var alive = !relay.Process.HasExited;
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var ready = alive && (await probe.GetAsync(new Uri(relay.Url, "/readyz"))).IsSuccessStatusCode;
        var drained = await rig.DrainAsync(relay.Url);
        var ledger = rig.Ledger.Close();
        var maxRss = await rss;
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"drained {drained.TotalSeconds:0.0} s after the load; ledger: {ledger.Line()}; relay RSS max {maxRss:0} MB"));

        verdict.Require(alive, "the relay exited");
        verdict.Require(ready, "the relay is not ready after the barrage");
        verdict.RequireBalanced(ledger);
        verdict.Require(ledger.Acked == ledger.Sent, $"{ledger.Sent - ledger.Acked} legitimate callbacks were not acked");
        var p99 = stats.AckPercentile(99);
        verdict.Require(p99 < MaxLegitimateP99.TotalMilliseconds, string.Create(CultureInfo.InvariantCulture, $"legitimate p99 ack {p99:0} ms, over {MaxLegitimateP99.TotalMilliseconds:0} ms"));
        foreach (var (kind, problem) in barrage.Problems())
        {
            verdict.Fail($"{kind}: {problem}");
        }

        verdict.Require(barrage.Total > 0, "no bad request was sent");
        verdict.Require(handled == SlowSockets, $"{SlowSockets - handled} slowloris sockets were still open 15 s after the load, or got a non-4xx answer ({Describe(sockets)})");
        verdict.Report(string.Create(
            CultureInfo.InvariantCulture,
            $"legitimate ack p50 {stats.AckPercentile(50):0.0} ms, p99 {p99:0.0} ms, max {stats.AckMax:0.0} ms; bad requests: {barrage.Line()}; slowloris: {Describe(sockets)}; relay RSS max {maxRss:0} MB"));
    }

    private static string Describe(IEnumerable<SlowSocket> sockets) =>
        string.Join(", ", sockets.GroupBy(s => s.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            string.Create(CultureInfo.InvariantCulture, $"{g.Key} {g.Count()} (after {g.Min(s => s.Seconds):0.0}-{g.Max(s => s.Seconds):0.0} s)")));

    /// <summary>
    /// Opens a connection and trickles one byte a second: either the request head never ends, or the head announces
    /// a 100 kB body that then trickles. Returns when the relay closes the connection or answers.
    /// </summary>
    private static async Task<SlowSocket> SlowlorisAsync(Uri relay, bool trickleBody)
    {
        var started = Stopwatch.GetTimestamp();
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, relay.Port);
            var stream = client.GetStream();
            var head = trickleBody
                ? $"POST {Vendor.Path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Yousign-Signature-256: sha256=00\r\nContent-Length: 100000\r\n\r\n{{"
                : $"POST {Vendor.Path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            var buffer = new byte[256];
            var reading = stream.ReadAsync(buffer).AsTask();
            while (true)
            {
                // After the load, keep trickling: the socket only counts as handled when the relay ends it.
                if (await Task.WhenAny(reading, Task.Delay(1000, CancellationToken.None)) == reading)
                {
                    var read = await reading;
                    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    if (read == 0)
                    {
                        return new SlowSocket("closed", seconds, Handled: true);
                    }

                    var status = Encoding.ASCII.GetString(buffer, 0, read).Split(' ') is [_, var code, ..] ? code : "?";
                    return new SlowSocket("answered " + status, seconds, Handled: status.StartsWith('4'));
                }

                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(2))
                {
                    return new SlowSocket("still open", Stopwatch.GetElapsedTime(started).TotalSeconds, Handled: false);
                }

                await stream.WriteAsync("a"u8.ToArray());
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            return new SlowSocket("reset", Stopwatch.GetElapsedTime(started).TotalSeconds, Handled: true);
        }
    }

    private static async Task<double> SampleMemoryAsync(ChildProcess relay, CancellationToken stop)
    {
        double max = 0;
        while (!stop.IsCancellationRequested)
        {
            max = Math.Max(max, relay.ResidentMegabytes() ?? 0);
            try
            {
                await Task.Delay(250, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return max;
    }

    private sealed record SlowSocket(string Outcome, double Seconds, bool Handled);

    /// <summary>The bad requests, sent back to back by each worker in turn, and how the relay answered each kind.</summary>
    private sealed class Barrage : IDisposable
    {
        private static readonly byte[] Secret = Encoding.UTF8.GetBytes(Vendor.Secret);
        private readonly ConcurrentDictionary<(string Kind, string Answer), long> _answers = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _milliseconds = new();
        private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false, MaxConnectionsPerServer = 64 })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };

        private readonly Uri _relay;
        private readonly (string Kind, Func<HttpRequestMessage> Create)[] _kinds;

        public Barrage(Uri relay)
        {
            _relay = relay;
            _kinds =
            [
                ("malformed JSON", () => Signed("{\"event_id\": \"bad\", \"event_name\": ")),
                ("invalid UTF-8", () => Signed([.. "{\"event_id\": \""u8, 0xC3, 0x28, 0xFF, 0xFE, .. "\", \"event_name\": \"signature_request.done\"}"u8])),
                ("bad signature", () => Json(Signing.YousignEvent("forged"), "sha256=" + new string('0', 64))),
                ("oversized body", () => Signed(new byte[2 * 1024 * 1024])),
                ("oversized chunked body", () => Chunked(new byte[2 * 1024 * 1024])),
                ("oversized header", () => WithHeaders(("X-Big", new string('a', 64 * 1024)))),
                ("500 headers", () => WithHeaders([.. Enumerable.Range(0, 500).Select(i => ($"X-H{i}", "v"))])),
                ("JSON nested 100,000 deep", () => Signed(new string('[', 100_000) + new string(']', 100_000))),
                ("object nested 10,000 deep", () => Signed(string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000))),
                ("form with 200,000 fields", () => Form(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a=1&", 200_000))))),
                ("form with 200,000 fields, wrong token", () => Form(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a=1&", 200_000))), "wrong-token-0123456789abcdef0123")),
                ("form with invalid UTF-8", () => Form([.. "EventType=document&x="u8, 0xFF, 0xFE])),
                ("wrong method", () => new HttpRequestMessage(HttpMethod.Get, new Uri(relay, Vendor.Path))),
            ];
        }

        public long Total => _answers.Values.Sum();

        /// <summary>Sends each kind three times, one request at a time; returns each kind's median time to the answer.</summary>
        public async Task<string> CalibrateAsync()
        {
            var medians = new List<string>();
            foreach (var (kind, create) in _kinds)
            {
                var times = new List<double>();
                for (var i = 0; i < 3; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        using var request = create();
                        using var response = await _client.SendAsync(request, CancellationToken.None);
                    }
                    catch (HttpRequestException)
                    {
                        // Cut: also an answer.
                    }

                    times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                medians.Add(string.Create(CultureInfo.InvariantCulture, $"{kind} {Median(times):0.0} ms"));
            }

            return string.Join(", ", medians);
        }

        /// <summary>Sends <paramref name="rate"/> bad requests a second, each kind in turn, until <paramref name="stop"/>; returns once all are answered.</summary>
        public async Task RunAsync(double rate, CancellationToken stop)
        {
            var sends = new List<Task>();
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var wait = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(start);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    try
                    {
                        await Task.Delay(wait, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }

                sends.Add(SendAsync(_kinds[i % _kinds.Length]));
            }

            await Task.WhenAll(sends);
        }

        private async Task SendAsync((string Kind, Func<HttpRequestMessage> Create) kind)
        {
            string answer;
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var request = kind.Create();
                using var response = await _client.SendAsync(request, CancellationToken.None);
                answer = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException)
            {
                answer = "cut";
            }
            catch (TaskCanceledException)
            {
                answer = "timeout";
            }

            _answers.AddOrUpdate((kind.Kind, answer), 1, static (_, n) => n + 1);
            _milliseconds.GetOrAdd(kind.Kind, static _ => new ConcurrentQueue<double>()).Enqueue(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        /// <summary>Every kind that got an answer other than a 4xx or a cut connection.</summary>
        public IEnumerable<(string Kind, string Problem)> Problems() => _answers
            .Where(a => a.Key.Answer != "cut" && !a.Key.Answer.StartsWith('4'))
            .Select(a => (a.Key.Kind, $"{a.Value} answered {a.Key.Answer}"));

        /// <summary>Per kind: the answers and how many, and the median time to the answer (what the kind costs the relay, roughly).</summary>
        public string Line() => string.Join("; ", _answers.GroupBy(a => a.Key.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            $"{g.Key}: {string.Join(" ", g.OrderBy(a => a.Key.Answer, StringComparer.Ordinal).Select(a => $"{a.Key.Answer}×{a.Value}"))}"
            + string.Create(CultureInfo.InvariantCulture, $" (median {Median(_milliseconds[g.Key]):0.0} ms)")));

        private static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
        }

        public void Dispose() => _client.Dispose();

        private HttpRequestMessage Signed(string body) => Signed(Encoding.UTF8.GetBytes(body));

        private HttpRequestMessage Signed(byte[] body) => Json(body, "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Secret, body)));

        private HttpRequestMessage Json(string body, string signature) => Json(Encoding.UTF8.GetBytes(body), signature);

        private HttpRequestMessage Json(byte[] body, string signature)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_relay, Vendor.Path)) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TryAddWithoutValidation("X-Yousign-Signature-256", signature);
            return request;
        }

        private HttpRequestMessage Chunked(byte[] body)
        {
            var request = Signed(body);
            request.Content = new StreamContent(new MemoryStream(body));
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TransferEncodingChunked = true;
            return request;
        }

        private HttpRequestMessage WithHeaders(params (string Name, string Value)[] headers)
        {
            var request = Signed(Signing.YousignEvent("headers"));
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return request;
        }

        private HttpRequestMessage Form(byte[] body, string token = Rig.FormToken)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_relay, $"/hooks/forms/{token}")) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/x-www-form-urlencoded");
            return request;
        }
    }
}
