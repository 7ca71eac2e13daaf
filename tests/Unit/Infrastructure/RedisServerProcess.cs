using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// A private redis-server process (appendfsync always, data in its own folder) that a test can kill and
/// restart on the same port and data, to take the store away under a running relay.
/// </summary>
internal sealed class RedisServerProcess : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("relay-redis-").FullName;
    private Process? _process;

    private RedisServerProcess(int port) => Port = port;

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Starts redis-server, or skips the test when it is not installed (CI installs it).</summary>
    public static async Task<RedisServerProcess> StartAsync()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                throw new InvalidOperationException("redis-server is required in CI (.ci/run installs it).");
            }

            Assert.Skip("redis-server is not installed; install it (apt-get install redis-server) to run store-outage tests.");
        }

        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var redis = new RedisServerProcess(port);
        await redis.StartAgainAsync(binary!);
        return redis;
    }

    public Task RestartAsync() => StartAgainAsync(_process!.StartInfo.FileName);

    /// <summary>SIGKILL: the store vanishes mid-conversation.</summary>
    public void Kill()
    {
        _process?.Kill();
        _process?.WaitForExit();
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            Kill();
        }

        _process?.Dispose();
    }

    private async Task StartAgainAsync(string binary)
    {
        _process?.Dispose();
        _process = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException("redis-server did not start.");
    }
}
