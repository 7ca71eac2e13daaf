using Relay.Tests.Infrastructure;
using StackExchange.Redis;

namespace Relay.Tests.Store;

/// <summary>
/// Failure mode: the embedded store listens on loopback, so without a password any local process could read event
/// bodies or queue forged events that Relay would sign and deliver.
/// </summary>
public sealed class EmbeddedStoreAuthTests
{
    [Fact]
    public async Task EmbeddedStore_ClientWithoutThePassword_Refused()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await RelayHost.StartAsync(TestStore.Garnet, TestYaml.YousignToCrm(TestYaml.Target(crm)));
        var endpoint = relay.Store.Database.Multiplexer.GetEndPoints().Single();
        Assert.Equal(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)endpoint).Address);

        foreach (var password in new[] { null, "guessed-password" })
        {
            using var intruder = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
            {
                EndPoints = { endpoint }, Password = password, AbortOnConnectFail = false, ConnectTimeout = 2000, ConnectRetry = 0,
            });

            // Either the handshake fails or the first command does; in no case does the store answer.
            await Assert.ThrowsAnyAsync<RedisException>(() => intruder.GetDatabase().StringGetAsync("anything"));
        }

        // The relay itself, with the password of this start, works.
        Assert.Equal(System.Net.HttpStatusCode.OK, (await relay.Client.SendAsync(Signing.YousignRequest("/hooks/yousign", TestYaml.YousignSecret, Signing.YousignEvent("auth-1")))).StatusCode);
    }
}
