namespace Relay.Tests.Infrastructure;

/// <summary>
/// The built relay as its own OS process, as it runs in production: a test can kill it with SIGKILL (no shutdown
/// hooks, no flush) and start it again on the same data, and the load harness measures it from outside.
/// </summary>
internal sealed class RelayProcess : IDisposable
{
    private RelayProcess(ChildProcess process, Uri url)
    {
        Process = process;
        Url = url;
    }

    public ChildProcess Process { get; }

    public Uri Url { get; }

    /// <summary>What the relay wrote so far, when it writes to no log file.</summary>
    public string Output => Process.Output;

    /// <summary>
    /// Starts <paramref name="relayDll"/> (by default the Relay.dll built in the same configuration as this assembly)
    /// with <paramref name="configPath"/> on <paramref name="port"/> (0: a free port; the same port again to restart a
    /// killed relay where its clients expect it), its output in <paramref name="logPath"/> or else in
    /// <see cref="Output"/>; returns once /readyz says ready.
    /// </summary>
    public static async Task<RelayProcess> StartAsync(string configPath, string? relayDll = null, string? logPath = null, int port = 0)
    {
        var url = new Uri($"http://127.0.0.1:{(port == 0 ? LoopbackServer.FreePort() : port)}");
        var relay = ChildProcess.Start("relay", "dotnet", [relayDll ?? SameConfigurationDll(), "--config", configPath, "--urls", url.ToString().TrimEnd('/')], logPath);
        await relay.WaitForSuccessAsync(new Uri(url, "/readyz")).ConfigureAwait(false);
        return new RelayProcess(relay, url);
    }

    /// <summary>SIGKILL: the process gets no chance to flush or shut down.</summary>
    public void KillHard() => Process.Kill();

    public void Dispose() => Process.Dispose();

    private static string SameConfigurationDll()
    {
        // This assembly runs from bin/<configuration>/net10.0/.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var dll = Repository.RelayDll(configuration);
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build src/Relay first.", dll);
    }
}
