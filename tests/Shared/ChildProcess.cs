using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// A process the tests or the load harness started. Its output is read as it comes (a full pipe would stall it) into
/// a log file when given one, or else into <see cref="Output"/>. Disposing it kills it with its children, and so does
/// the exit of this process, also on Ctrl+C or SIGTERM mid-run, so a failed run leaves nothing behind.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    /// <summary>Every process still running, killed when this process exits.</summary>
    private static readonly ConcurrentDictionary<ChildProcess, bool> Running = new();

    private static readonly TimeSpan StartUpLimit = TimeSpan.FromSeconds(60);

    private static int _exitHooked;

    private readonly string _name;
    private readonly Process _process;
    private readonly StreamWriter? _log;
    private readonly string? _logPath;
    private readonly StringBuilder? _output;

    private ChildProcess(string name, Process process, StreamWriter? log, string? logPath)
    {
        _name = name;
        _process = process;
        _log = log;
        _logPath = logPath;
        _output = log is null ? new StringBuilder() : null;
        _process.OutputDataReceived += (_, e) => Capture(e.Data);
        _process.ErrorDataReceived += (_, e) => Capture(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Standard output and error so far, when they go to no log file; empty otherwise.</summary>
    public string Output
    {
        get
        {
            if (_output is null)
            {
                return "";
            }

            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="name"/> is what error messages call it.</summary>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string? logPath = null)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Appended to, so a process started again in the same folder (a restarted redis-server) keeps the earlier log.
        var log = logPath is null ? null : new StreamWriter(logPath, append: true) { AutoFlush = true };
        var child = new ChildProcess(name, Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}."), log, logPath);
        if (Interlocked.Exchange(ref _exitHooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += KillRunning;
        }

        Running[child] = true;
        return child;
    }

    /// <summary>True once the process has exited, by itself or killed.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Sends a signal to the process alone (not its children) with kill(1): <c>STOP</c> freezes it the way a hung machine
    /// or a long GC pause would, with its sockets open; <c>CONT</c> thaws it.
    /// </summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-s", signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {_name} failed with {kill.ExitCode}.");
        }
    }

    /// <summary>CPU time the process has used so far (user + system, from /proc/&lt;pid&gt;/stat); null once it is gone.</summary>
    public TimeSpan? CpuTime()
    {
        try
        {
            // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime and
            // stime are the 12th and 13th, in clock ticks (100 a second on Linux).
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Resident memory from /proc/&lt;pid&gt;/status (VmRSS), in MB; null once the process is gone.</summary>
    public double? ResidentMegabytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Returns once <paramref name="url"/> answers with a success; see <see cref="WaitUntilAsync"/>.</summary>
    public async Task WaitForSuccessAsync(Uri url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await WaitUntilAsync(async () => (await client.GetAsync(url).ConfigureAwait(false)).IsSuccessStatusCode).ConfigureAwait(false);
    }

    /// <summary>Returns once 127.0.0.1:<paramref name="port"/> accepts a connection; see <see cref="WaitUntilAsync"/>.</summary>
    public Task WaitForPortAsync(int port) => WaitUntilAsync(async () =>
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
        return true;
    });

    /// <summary>
    /// SIGKILL to the process and its children: no shutdown hooks, no flush. Returns once they are gone, so a test can
    /// start the next one on the same data or port.
    /// </summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        // SIGKILL cannot be caught and the whole tree is gone, so nothing holds the pipes open and this returns promptly.
        _process.WaitForExit();
    }

    public void Dispose()
    {
        // Once, whether the owner or the exit hook gets here first.
        if (!Running.TryRemove(this, out _))
        {
            return;
        }

        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        if (_log is not null)
        {
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }

    private static void KillRunning(object? sender, EventArgs e)
    {
        foreach (var child in Running.Keys)
        {
            child.Dispose();
        }
    }

    /// <summary>
    /// Polls <paramref name="ready"/> every 100 ms for up to a minute. A process that exits meanwhile fails at once,
    /// and one that never gets ready is killed; either way the message carries its output or names its log.
    /// </summary>
    private async Task WaitUntilAsync(Func<Task<bool>> ready)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(StartUpLimit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                // Waiting once more lets the last lines of output arrive before they are quoted.
                _process.WaitForExit();
                var exited = $"{_name} exited with {_process.ExitCode} during start-up; {WhereOutputIs()}";
                Dispose();
                throw new InvalidOperationException(exited);
            }

            try
            {
                if (await ready().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        Dispose();
        throw new TimeoutException($"{_name} did not become ready within {StartUpLimit.TotalSeconds:0} s; {WhereOutputIs()}");
    }

    private string WhereOutputIs() => _logPath is null ? "output:\n" + Output : $"see {_logPath}.";

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (_log is null)
        {
            lock (_output!)
            {
                _output.AppendLine(line);
            }

            return;
        }

        lock (_log)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives while the process is being killed.
            }
        }
    }
}
