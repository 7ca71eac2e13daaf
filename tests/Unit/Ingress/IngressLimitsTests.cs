using System.Net;
using System.Net.Sockets;
using System.Text;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Ingress;

/// <summary>Body-size and slow-client limits on webhook paths.</summary>
public sealed class IngressLimitsTests
{
    private const string Secret = "limits-secret";

    [Fact]
    public async Task Accept_OversizedChunkedBodyWithoutLength_413AndNothingStored()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(crm);
        var body = Signing.YousignEvent("chunked", requestId: new string('y', 5000));
        var request = Signing.YousignRequest("/hooks/yousign", Secret, body);
        request.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TransferEncodingChunked = true;

        var response = await relay.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(await StoreProbe.StoreKeysAsync(relay));
    }

    [Fact]
    public async Task Accept_ClientStallsMidBody_ConnectionClosedAndNothingStored()
    {
        await using var crm = await FakeTarget.StartAsync();
        await using var relay = await StartAsync(crm);
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, relay.Client.BaseAddress!.Port);
        var stream = socket.GetStream();
        var head = "POST /hooks/yousign HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"event_id\":";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        // Kestrel's minimum body rate (240 B/s after a 5 s grace) must cut off a client that stops sending.
        var buffer = new byte[1024];
        var closed = false;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            closed = true;
        }
        catch (IOException)
        {
            closed = true;
        }

        Assert.True(closed, "the relay kept a stalled upload open");
        Assert.Empty(await StoreProbe.StoreKeysAsync(relay));
    }

    private static Task<RelayHost> StartAsync(FakeTarget crm) =>
        RelayHost.StartAsync(TestStore.Garnet, $"""
            ingress: {"{"} maxBodyBytes: 2048 {"}"}
            sources:
              yousign: {"{"} kind: yousign, path: /hooks/yousign, secret: {Secret}, routes: [{"{"} target: crm {"}"}] {"}"}
            targets:
              crm: {TestYaml.Target(crm)}
            """);
}
