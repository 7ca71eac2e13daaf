namespace Relay.Tests.Infrastructure;

// The parts of the shared test infrastructure (tests/Shared, also compiled into the load harness) that only make sense
// in this project: they assert or skip with xunit, or read this project's fixtures.

internal sealed partial class FakeTarget
{
    /// <summary>
    /// Waits for <paramref name="count"/> requests, then for a quiet spell, and asserts that no more came:
    /// how a test sees that a duplicate was not delivered again.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForExactlyAsync(int count, TimeSpan? quiet = null)
    {
        await WaitForAsync(count);
        await Task.Delay(quiet ?? TimeSpan.FromSeconds(1.5));
        Assert.Equal(count, Recorded.Count);
        return Received;
    }
}

internal sealed partial class RedisServerProcess
{
    /// <summary>Starts redis-server in a temporary folder, or skips the test when it is not installed (CI installs it).</summary>
    public static async Task<RedisServerProcess> StartAsync()
    {
        var redis = await TryStartAsync();
        if (redis is null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                throw new InvalidOperationException("redis-server is required in CI (.ci/run installs it).");
            }

            Assert.Skip("redis-server is not installed; install it (apt-get install redis-server) to run store-outage tests.");
        }

        return redis;
    }
}

internal static partial class Signing
{
    /// <summary>
    /// A JSON object whose one string holds bytes that are not UTF-8 (<c>FF FE</c>): well-formed JSON to the reader,
    /// which checks structure but not the bytes inside strings.
    /// </summary>
    public static byte[] JsonWithInvalidUtf8(string field, string otherFields = "") =>
        [.. System.Text.Encoding.ASCII.GetBytes("{\"" + field + "\":\""), 0xFF, 0xFE, .. System.Text.Encoding.ASCII.GetBytes("\"" + otherFields + "}")];

    /// <summary>Lowercase hex HMAC-SHA256 of raw bytes (which need not be text).</summary>
    public static string HexHmacSha256(string secret, byte[] body) =>
        Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), body));

    /// <summary>A JSON POST of raw bytes with <paramref name="header"/> set to <paramref name="signature"/>.</summary>
    public static HttpRequestMessage JsonPost(string path, byte[] body, string header, string signature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation(header, signature);
        return request;
    }

    /// <summary>Reads a vendor sample from tests/Unit/Fixtures.</summary>
    public static string Fixture(string relativePath) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath));
}
