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
    /// <summary>Reads a vendor sample from tests/Unit/Fixtures.</summary>
    public static string Fixture(string relativePath) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath));
}
