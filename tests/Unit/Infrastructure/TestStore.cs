namespace Relay.Tests.Infrastructure;

/// <summary>
/// Which store a test runs against. Embedded Garnet always runs; Redis runs when RELAY_TEST_REDIS names a server
/// (CI sets it), and is skipped, saying why, when it does not.
/// </summary>
public sealed class TestStore
{
    private TestStore(string name, string? redis) => (Name, Redis) = (name, redis);

    public static TestStore Garnet { get; } = new("garnet", null);

    public static TestStore RedisServer { get; } = new("redis", Environment.GetEnvironmentVariable("RELAY_TEST_REDIS"));

    public static TheoryData<string> All => ["garnet", "redis"];

    /// <summary>A Redis the test runs itself (<see cref="RedisServerProcess"/>), to kill and restart under a relay.</summary>
    public static TestStore OnRedis(string address) => new("redis", address);

    public string Name { get; }

    /// <summary>The Redis address, or null for the embedded store.</summary>
    public string? Redis { get; }

    public static TestStore Named(string name)
    {
        var store = name == "redis" ? RedisServer : Garnet;
        if (name == "redis" && store.Redis is null)
        {
            Assert.Skip("RELAY_TEST_REDIS is not set; set it to a Redis 7 address (e.g. 127.0.0.1:6379) to run the Redis variant.");
        }

        return store;
    }

    /// <summary>The <c>store:</c> section for a relay using this store, isolated from every other test by prefix and folder.</summary>
    public string StoreYaml(string dataDir, string prefix, int partitions = 4) => Redis is null
        ? $"store:\n  connection: \"\"\n  dataDir: \"{dataDir}\"\n  partitions: {partitions}\n  prefix: {prefix}\n"
        : $"store:\n  connection: \"{Redis}\"\n  partitions: {partitions}\n  prefix: {prefix}\n";

    public override string ToString() => Name;
}
