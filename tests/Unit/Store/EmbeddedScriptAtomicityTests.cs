using System.Globalization;
using System.Net;
using Garnet;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Store;
using Relay.Tests.Infrastructure;
using StackExchange.Redis;

namespace Relay.Tests.Store;

/// <summary>
/// What makes the relay's scripts atomic in the embedded store. Unlike Redis, Garnet runs the sessions of different
/// connections in parallel, and a Lua script is one indivisible step only when <c>--lua-transaction-mode</c> locks its
/// keys. Each test races two streams of a read-modify-write script (read a counter, widen the window with more
/// writes, write the counter back plus one) and counts the updates that were lost.
/// </summary>
public sealed class EmbeddedScriptAtomicityTests
{
    private const int CallsPerStream = 1_000;

    private const string Increment = """
        local value = tonumber(redis.call('GET', KEYS[1]) or '0')
        for i = 1, 20 do redis.call('SET', KEYS[2], i) end
        redis.call('SET', KEYS[1], value + 1)
        return value + 1
        """;

    /// <summary>The relay's own store, as it starts it: two connections racing lose nothing.</summary>
    [Fact]
    public async Task RelaysEmbeddedStore_TwoConnectionsRace_NoUpdateLost()
    {
        var dataDir = TempFolders.Create("relay-atomicity");
        using var garnet = EmbeddedGarnet.Start(dataDir, 256L << 20, NullLoggerFactory.Instance);
        using var first = await ConnectAsync(garnet.EndPoint, garnet.Password);
        using var second = await ConnectAsync(garnet.EndPoint, garnet.Password);

        Assert.Equal(2 * CallsPerStream, await RaceAsync(first, second, "counter"));
    }

    /// <summary>
    /// Without the transaction mode, two connections racing the same script lose updates: the mode is what makes the
    /// relay's scripts atomic, and this test fails the day Garnet makes scripts atomic without it. Races are not
    /// certain in any one round on two cores, so up to five rounds are run.
    /// </summary>
    [Fact]
    public async Task WithoutTransactionMode_TwoConnectionsRace_UpdatesLost()
    {
        using var garnet = StartWithoutTransactionMode(out var endpoint);
        using var first = await ConnectAsync(endpoint, password: null);
        using var second = await ConnectAsync(endpoint, password: null);

        var counts = new List<long>();
        for (var round = 0; round < 5 && (counts.Count == 0 || counts[^1] == 2 * CallsPerStream); round++)
        {
            counts.Add(await RaceAsync(first, second, $"counter-{round}"));
        }

        Assert.True(counts[^1] < 2 * CallsPerStream, $"no update was lost in {counts.Count} rounds of {2 * CallsPerStream} increments: {string.Join(", ", counts)}");
    }

    /// <summary>
    /// Without the transaction mode, the scripts of one connection still run one after another: a session's commands
    /// are executed in order, so one multiplexed connection serialises them. The relay keeps the mode anyway
    /// (EmbeddedGarnet says why): the store's expired-key scan and the relay's checkpoints do not use that connection.
    /// </summary>
    [Fact]
    public async Task WithoutTransactionMode_OneConnection_NoUpdateLost()
    {
        using var garnet = StartWithoutTransactionMode(out var endpoint);
        using var only = await ConnectAsync(endpoint, password: null);

        Assert.Equal(2 * CallsPerStream, await RaceAsync(only, only, "counter"));
    }

    /// <summary>Runs the increment script <see cref="CallsPerStream"/> times from each connection at once; returns the counter.</summary>
    private static async Task<long> RaceAsync(ConnectionMultiplexer first, ConnectionMultiplexer second, string counter)
    {
        RedisKey[] keys = [counter, counter + ":scratch"];
        var calls = new List<Task<RedisResult>>(2 * CallsPerStream);
        for (var i = 0; i < CallsPerStream; i++)
        {
            calls.Add(first.GetDatabase().ScriptEvaluateAsync(Increment, keys));
            calls.Add(second.GetDatabase().ScriptEvaluateAsync(Increment, keys));
        }

        await Task.WhenAll(calls);
        return (long)await first.GetDatabase().StringGetAsync(counter);
    }

    private static GarnetServer StartWithoutTransactionMode(out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, LoopbackServer.FreePort());
        var server = new GarnetServer(
            ["--bind", "127.0.0.1", "--port", endpoint.Port.ToString(CultureInfo.InvariantCulture), "--lua", "true", "--memory", "64m", "--index", "1m"],
            NullLoggerFactory.Instance);
        server.Start();
        return server;
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(IPEndPoint endpoint, string? password) =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endpoint }, Password = password, AbortOnConnectFail = false });
}
