using System.Collections.Concurrent;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// Temporary folders that live as long as the test process: every relay a test starts keeps its config and store
/// there, often across a restart, so they are deleted only when the process exits (a test run makes thousands).
/// </summary>
internal static class TempFolders
{
    private static readonly ConcurrentBag<string> Made = [];

    static TempFolders() => AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();

    public static string Create(string prefix)
    {
        var path = Directory.CreateTempSubdirectory(prefix).FullName;
        Made.Add(path);
        return path;
    }

    private static void DeleteAll()
    {
        foreach (var path in Made)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A child process still holding a file: the folder stays, like any other temporary file.
            }
        }
    }
}
