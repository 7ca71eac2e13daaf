using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// The relay as a separate OS process (the built Relay.dll), so a test can kill it with SIGKILL — no shutdown
/// hooks, no flush — and start it again on the same data.
/// </summary>
internal sealed class RelayProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private RelayProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
        _process.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri Url { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<RelayProcess> StartAsync(string configPath)
    {
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RelayDll(), "--config", configPath, "--urls", url.ToString().TrimEnd('/') },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var relay = new RelayProcess(Process.Start(start)!, url);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (relay._process.HasExited)
            {
                throw new InvalidOperationException($"Relay exited with {relay._process.ExitCode}:\n{relay.Output}");
            }

            try
            {
                if ((await client.GetAsync(new Uri(url, "/readyz"))).IsSuccessStatusCode)
                {
                    return relay;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(100);
        }

        relay.Dispose();
        throw new TimeoutException($"Relay did not become ready:\n{relay.Output}");
    }

    /// <summary>SIGKILL: the process gets no chance to flush or shut down.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            KillHard();
        }

        _process.Dispose();
    }

    /// <summary>The Relay.dll built with the same configuration as these tests.</summary>
    private static string RelayDll()
    {
        var testBin = AppContext.BaseDirectory;
        var configuration = new DirectoryInfo(testBin.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var root = new DirectoryInfo(testBin);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Relay.sln")))
        {
            root = root.Parent;
        }

        var dll = Path.Combine(root?.FullName ?? throw new InvalidOperationException("Relay.sln not found above the test folder."), "src", "Relay", "bin", configuration, "net10.0", "Relay.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build src/Relay first.", dll);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
